package db

import (
	"context"
	"errors"
	"strings"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/rapportcrm/rapport/internal/crm"
)

// Translate turns a database error into an application error, once, at this seam: no rows becomes
// ENOTFOUND, a unique violation ECONFLICT, a foreign-key or check violation EINVALID, a serialization
// failure or lock timeout ECONFLICT, a statement timeout EINTERNAL with a message saying so.
// Application errors and nil pass through unchanged; anything else is wrapped as it is (and shown to
// clients only as "Internal error").
func Translate(err error) error {
	if err == nil {
		return nil
	}
	var appErr *crm.Error
	if errors.As(err, &appErr) {
		return err
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return crm.Errorf(crm.ENOTFOUND, "Record not found.")
	}
	if errors.Is(err, context.Canceled) {
		return err
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return err
	}
	switch pgErr.Code {
	case pgerrcode.UniqueViolation:
		return crm.Errorf(crm.ECONFLICT, "A record with the same %s already exists.", constraintSubject(pgErr.ConstraintName))
	case pgerrcode.ForeignKeyViolation:
		return &crm.Error{Code: crm.EINVALID, Field: referenceField(pgErr.ConstraintName),
			Message: "It refers to a record that does not exist in this organization."}
	case pgerrcode.CheckViolation, pgerrcode.NotNullViolation, pgerrcode.StringDataRightTruncationDataException,
		pgerrcode.NumericValueOutOfRange, pgerrcode.InvalidTextRepresentation:
		return crm.Errorf(crm.EINVALID, "A value is out of range or has the wrong form (%s).", pgErr.ConstraintName)
	case pgerrcode.SerializationFailure, pgerrcode.DeadlockDetected, pgerrcode.LockNotAvailable:
		return crm.Errorf(crm.ECONFLICT, "The record is being changed by someone else; try again.")
	case pgerrcode.QueryCanceled:
		return crm.Errorf(crm.EINTERNAL, "The request took too long and was cancelled.")
	case pgerrcode.InsufficientPrivilege:
		return crm.Errorf(crm.EFORBIDDEN, "Not allowed.")
	}
	return err
}

// constraintSubject names what a unique constraint protects, e.g. accounts_registration_code ->
// "registration code".
func constraintSubject(constraint string) string {
	if _, rest, ok := strings.Cut(constraint, "_"); ok && rest != "" && rest != "pkey" {
		return strings.ReplaceAll(strings.TrimSuffix(rest, "_key"), "_", " ")
	}
	return "identifier"
}

// referenceField guesses the input field of a foreign-key violation from the constraint name that
// PostgreSQL generates: contacts_org_id_account_id_fkey -> accountId.
func referenceField(constraint string) string {
	name := strings.TrimSuffix(constraint, "_fkey")
	if i := strings.LastIndex(name, "_org_id_"); i >= 0 {
		name = name[i+len("_org_id_"):]
	}
	parts := strings.Split(name, "_")
	for i := 1; i < len(parts); i++ {
		if parts[i] == "id" {
			parts[i] = "Id"
		} else if parts[i] != "" {
			parts[i] = strings.ToUpper(parts[i][:1]) + parts[i][1:]
		}
	}
	return strings.Join(parts, "")
}
