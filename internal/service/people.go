package service

import (
	"context"
	"errors"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/rapportcrm/rapport/db"
	"github.com/rapportcrm/rapport/db/query"
	"github.com/rapportcrm/rapport/internal/auth"
	"github.com/rapportcrm/rapport/internal/crm"
	"github.com/rapportcrm/rapport/internal/rules/access"
	"github.com/rapportcrm/rapport/internal/rules/normalize"
)

// UserInput is a user to create.
type UserInput struct {
	Email    string
	Name     string
	Role     crm.Role
	TeamID   crm.ID
	Password string // empty: the user signs in through the external OIDC issuer only
}

// UserUpdate changes the user fields that are set.
type UserUpdate struct {
	ID              crm.ID
	ExpectedVersion int32
	Name            Opt[string]
	Role            Opt[crm.Role]
	TeamID          Opt[crm.ID]
	Active          Opt[bool]
	Password        Opt[string]
}

// TeamInput is a team to create.
type TeamInput struct {
	Name      string
	ParentID  crm.ID
	ManagerID crm.ID
}

// TeamUpdate changes the team fields that are set.
type TeamUpdate struct {
	ID              crm.ID
	ExpectedVersion int32
	Name            Opt[string]
	ParentID        Opt[crm.ID]
	ManagerID       Opt[crm.ID]
}

// minPassword is the shortest password accepted.
const minPassword = 10

// Viewer returns the signed-in user.
func (s *Service) Viewer(ctx context.Context, a *crm.Actor) (crm.User, error) {
	if a == nil || a.Kind != crm.ActorUser {
		return crm.User{}, crm.Errorf(crm.EFORBIDDEN, "Only a signed-in user has a viewer; API keys act for the organization.")
	}
	users, err := s.Users(ctx, a, []crm.ID{a.UserID})
	if err != nil {
		return crm.User{}, err
	}
	if users[0].ID == crm.NilID {
		return crm.User{}, crm.Errorf(crm.EUNAUTHENTICATED, "The signed-in user no longer exists.")
	}
	return users[0], nil
}

// Users returns the organization's users with the given IDs, in order (zero Users for unknown
// IDs). Every member of the organization may see who its users are.
func (s *Service) Users(ctx context.Context, a *crm.Actor, ids []crm.ID) ([]crm.User, error) {
	if a == nil {
		return nil, authorize(a, "")
	}
	var rows []query.GetUsersRow
	err := s.read(ctx, a, func(q *query.Queries) (err error) {
		rows, err = q.GetUsers(ctx, query.GetUsersParams{OrgID: a.OrgID, Ids: ids})
		return err
	})
	users := make([]crm.User, len(rows))
	for i, r := range rows {
		users[i] = userFromRow(r)
	}
	return inOrder(users, ids, func(u crm.User) crm.ID { return u.ID }), err
}

// ListUsers returns every user of the organization, by name.
func (s *Service) ListUsers(ctx context.Context, a *crm.Actor) ([]crm.User, error) {
	if a == nil {
		return nil, authorize(a, "")
	}
	var users []crm.User
	err := s.read(ctx, a, func(q *query.Queries) error {
		rows, err := q.ListUsers(ctx, a.OrgID)
		for _, r := range rows {
			users = append(users, userFromRow(query.GetUsersRow(r)))
		}
		return err
	})
	return users, err
}

// ListTeams returns every team of the organization, by name.
func (s *Service) ListTeams(ctx context.Context, a *crm.Actor) ([]crm.Team, error) {
	if a == nil {
		return nil, authorize(a, "")
	}
	var teams []crm.Team
	err := s.read(ctx, a, func(q *query.Queries) error {
		rows, err := q.ListTeams(ctx, a.OrgID)
		for _, r := range rows {
			teams = append(teams, teamFromRow(r))
		}
		return err
	})
	return teams, err
}

// CreateUser adds a user to the organization (admins only).
func (s *Service) CreateUser(ctx context.Context, a *crm.Actor, in UserInput) (u crm.User, err error) {
	if err := authorize(a, access.UsersWrite); err != nil {
		return u, err
	}
	email, err := normalize.Email("email", in.Email)
	if err != nil {
		return u, err
	}
	u = crm.User{OrgID: a.OrgID, Email: email, Name: in.Name, Role: in.Role, TeamID: in.TeamID, Active: true}
	if err := checkUser(&u); err != nil {
		return u, err
	}
	hash, err := passwordHash(in.Password)
	if err != nil {
		return u, err
	}
	err = s.write(ctx, a, func(w *writer) error {
		u.ID, u.CreatedAt, u.UpdatedAt, u.Version = crm.NewID(), w.now, w.now, 1
		if err := w.q.CreateUser(w.ctx, query.CreateUserParams{OrgID: a.OrgID, ID: u.ID, Email: u.Email, Name: u.Name,
			Role: string(u.Role), TeamID: idOrNil(u.TeamID), PasswordHash: hash, Active: true, Now: w.now}); err != nil {
			if crm.ErrorCode(db.Translate(err)) == crm.ECONFLICT {
				return &crm.Error{Code: crm.ECONFLICT, Field: "email", Message: "A user with this e-mail already exists in the organization."}
			}
			return err
		}
		w.emit("user.created", crm.TypeUser, u.ID, diff(nil, userFields(u)))
		return w.rebuildVisibility()
	})
	return u, err
}

// UpdateUser changes a user (admins only). Deactivating a user keeps their records; reassign
// them separately.
func (s *Service) UpdateUser(ctx context.Context, a *crm.Actor, in UserUpdate) (u crm.User, err error) {
	if err := authorize(a, access.UsersWrite); err != nil {
		return u, err
	}
	var hash *string
	if in.Password.Set {
		if hash, err = passwordHash(in.Password.Value); err != nil {
			return u, err
		}
	}
	err = s.write(ctx, a, func(w *writer) error {
		row, err := w.q.GetUserForUpdate(w.ctx, query.GetUserForUpdateParams{OrgID: a.OrgID, ID: in.ID})
		if errors.Is(err, pgx.ErrNoRows) {
			return crm.NotFound("user", in.ID)
		} else if err != nil {
			return err
		}
		before := userFromRow(query.GetUsersRow(row))
		if err := checkVersion("user", before.Version, in.ExpectedVersion); err != nil {
			return err
		}
		u = before
		u.Name = in.Name.apply(u.Name)
		u.Role = in.Role.apply(u.Role)
		u.TeamID = in.TeamID.apply(u.TeamID)
		u.Active = in.Active.apply(u.Active)
		if err := checkUser(&u); err != nil {
			return err
		}
		if u.ID == a.UserID && (!u.Active || u.Role != crm.RoleAdmin) {
			return crm.Invalid("role", "You cannot demote or deactivate yourself; ask another admin.")
		}
		changes := diff(userFields(before), userFields(u))
		if hash != nil {
			if err := w.q.SetUserPassword(w.ctx, query.SetUserPasswordParams{OrgID: a.OrgID, ID: u.ID, PasswordHash: hash, Now: w.now}); err != nil {
				return err
			}
			changes = append(changes, crm.FieldChange{Field: "password", After: mustJSON("(changed)")})
		}
		if len(changes) == 0 {
			return nil
		}
		res, err := w.q.UpdateUser(w.ctx, query.UpdateUserParams{OrgID: a.OrgID, ID: u.ID, Name: u.Name,
			Role: string(u.Role), TeamID: idOrNil(u.TeamID), Active: u.Active, Now: w.now})
		if err != nil {
			return err
		}
		u.Version, u.UpdatedAt = res.Version, res.UpdatedAt
		w.emit("user.updated", crm.TypeUser, u.ID, changes)
		return w.rebuildVisibility()
	})
	return u, err
}

// CreateTeam adds a team (admins only).
func (s *Service) CreateTeam(ctx context.Context, a *crm.Actor, in TeamInput) (t crm.Team, err error) {
	if err := authorize(a, access.UsersWrite); err != nil {
		return t, err
	}
	t = crm.Team{OrgID: a.OrgID, Name: in.Name, ParentID: in.ParentID, ManagerID: in.ManagerID}
	err = s.write(ctx, a, func(w *writer) error {
		t.ID, t.CreatedAt, t.UpdatedAt, t.Version = crm.NewID(), w.now, w.now, 1
		if err := w.checkTeam(&t); err != nil {
			return err
		}
		if err := w.q.CreateTeam(w.ctx, query.CreateTeamParams{OrgID: a.OrgID, ID: t.ID, Name: t.Name,
			ParentID: idOrNil(t.ParentID), ManagerID: idOrNil(t.ManagerID), Now: w.now}); err != nil {
			return err
		}
		w.emit("team.created", crm.TypeTeam, t.ID, diff(nil, teamFields(t)))
		return w.rebuildVisibility()
	})
	return t, err
}

// UpdateTeam changes a team (admins only); a parent that would make a cycle is rejected.
func (s *Service) UpdateTeam(ctx context.Context, a *crm.Actor, in TeamUpdate) (t crm.Team, err error) {
	if err := authorize(a, access.UsersWrite); err != nil {
		return t, err
	}
	err = s.write(ctx, a, func(w *writer) error {
		row, err := w.q.GetTeamForUpdate(w.ctx, query.GetTeamForUpdateParams{OrgID: a.OrgID, ID: in.ID})
		if errors.Is(err, pgx.ErrNoRows) {
			return crm.NotFound("team", in.ID)
		} else if err != nil {
			return err
		}
		before := teamFromRow(row)
		if err := checkVersion("team", before.Version, in.ExpectedVersion); err != nil {
			return err
		}
		t = before
		t.Name = in.Name.apply(t.Name)
		t.ParentID = in.ParentID.apply(t.ParentID)
		t.ManagerID = in.ManagerID.apply(t.ManagerID)
		if err := w.checkTeam(&t); err != nil {
			return err
		}
		changes := diff(teamFields(before), teamFields(t))
		if len(changes) == 0 {
			return nil
		}
		res, err := w.q.UpdateTeam(w.ctx, query.UpdateTeamParams{OrgID: a.OrgID, ID: t.ID, Name: t.Name,
			ParentID: idOrNil(t.ParentID), ManagerID: idOrNil(t.ManagerID), Now: w.now})
		if err != nil {
			return err
		}
		t.Version, t.UpdatedAt = res.Version, res.UpdatedAt
		w.emit("team.updated", crm.TypeTeam, t.ID, changes)
		return w.rebuildVisibility()
	})
	return t, err
}

func (w *writer) checkTeam(t *crm.Team) (err error) {
	if t.Name, err = normalize.Text("name", t.Name, 100); err != nil {
		return err
	}
	if t.Name == "" {
		return crm.Invalid("name", "The team needs a name.")
	}
	if t.ParentID == crm.NilID {
		return nil
	}
	teams, err := w.q.ListTeams(w.ctx, w.actor.OrgID)
	if err != nil {
		return err
	}
	parent := map[crm.ID]crm.ID{}
	for _, x := range teams {
		parent[x.ID] = idOf(x.ParentID)
	}
	if _, ok := parent[t.ParentID]; !ok {
		return crm.Invalid("parentId", "Team %s does not exist in this organization.", t.ParentID)
	}
	for p := t.ParentID; p != crm.NilID; p = parent[p] {
		if p == t.ID {
			return crm.Invalid("parentId", "A team cannot be placed under itself or one of its sub-teams.")
		}
	}
	return nil
}

// rebuildVisibility recomputes the organization's visibility closure (rules/access.Closure) and
// stores it, in the transaction that changed users, teams or the setting.
func (w *writer) rebuildVisibility() error {
	org, err := w.q.GetOrganization(w.ctx, w.actor.OrgID)
	if err != nil {
		return err
	}
	userRows, err := w.q.ListUsers(w.ctx, w.actor.OrgID)
	if err != nil {
		return err
	}
	teamRows, err := w.q.ListTeams(w.ctx, w.actor.OrgID)
	if err != nil {
		return err
	}
	users := make([]crm.User, len(userRows))
	for i, r := range userRows {
		users[i] = userFromRow(query.GetUsersRow(r))
	}
	teams := make([]crm.Team, len(teamRows))
	for i, r := range teamRows {
		teams[i] = teamFromRow(r)
	}
	pairs := access.Closure(users, teams, crm.Visibility(org.RecordVisibility))
	viewers := make([]crm.ID, len(pairs))
	owners := make([]crm.ID, len(pairs))
	for i, p := range pairs {
		viewers[i], owners[i] = p.Viewer, p.Owner
	}
	if err := w.q.ClearVisibility(w.ctx, w.actor.OrgID); err != nil {
		return err
	}
	return w.q.InsertVisibility(w.ctx, query.InsertVisibilityParams{OrgID: w.actor.OrgID, ViewerIds: viewers, OwnerIds: owners})
}

func checkUser(u *crm.User) (err error) {
	if u.Name, err = normalize.Text("name", u.Name, 100); err != nil {
		return err
	}
	if u.Name == "" {
		return crm.Invalid("name", "The user needs a name.")
	}
	if !u.Role.Valid() {
		return crm.Invalid("role", "Unknown role %q.", u.Role)
	}
	return nil
}

func passwordHash(pw string) (*string, error) {
	if pw == "" {
		return nil, nil
	}
	if len([]rune(pw)) < minPassword || len(pw) > 1024 || strings.TrimSpace(pw) == "" {
		return nil, crm.Invalid("password", "A password has at least %d characters.", minPassword)
	}
	h, err := auth.HashPassword(pw)
	return &h, err
}

func userFromRow(r query.GetUsersRow) crm.User {
	return crm.User{ID: r.ID, OrgID: r.OrgID, Email: r.Email, Name: r.Name, Role: crm.Role(r.Role),
		TeamID: idOf(r.TeamID), Active: r.Active, Away: r.Away, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, Version: r.Version}
}

func teamFromRow(r query.Team) crm.Team {
	return crm.Team{ID: r.ID, OrgID: r.OrgID, Name: r.Name, ParentID: idOf(r.ParentID), ManagerID: idOf(r.ManagerID),
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, Version: r.Version}
}

func userFields(u crm.User) fields {
	return fields{"email": u.Email, "name": u.Name, "role": u.Role, "teamId": idOrNil(u.TeamID), "active": u.Active}
}

func teamFields(t crm.Team) fields {
	return fields{"name": t.Name, "parentId": idOrNil(t.ParentID), "managerId": idOrNil(t.ManagerID)}
}

// Teams returns the organization's teams with the given IDs, in order (zero Teams for unknown IDs).
func (s *Service) Teams(ctx context.Context, a *crm.Actor, ids []crm.ID) ([]crm.Team, error) {
	all, err := s.ListTeams(ctx, a)
	if err != nil {
		return nil, err
	}
	return inOrder(all, ids, func(t crm.Team) crm.ID { return t.ID }), nil
}
