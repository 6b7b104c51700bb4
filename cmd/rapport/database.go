package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/rapportcrm/rapport/db/pglocal"
)

// embeddedDB is the name of Rapport's database inside the embedded cluster.
const embeddedDB = "rapport"

// database resolves the database to use: DATABASE_URL, or the embedded cluster under the data
// directory, started (or attached to, when another rapport process runs it) on demand. stop stops
// the cluster if this process started it.
func database(ctx context.Context, cfg config, log *slog.Logger) (url string, embedded bool, stop func(), err error) {
	if cfg.DatabaseURL != "" {
		return cfg.DatabaseURL, false, func() {}, nil
	}
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return "", true, nil, fmt.Errorf("data directory: %w", err)
	}
	dataDir, err := filepath.Abs(filepath.Join(cfg.DataDir, "pgdata"))
	if err != nil {
		return "", true, nil, err
	}
	cluster, err := pglocal.Start(ctx, pglocal.Options{DataDir: dataDir, Durable: true, Logger: log})
	if err != nil {
		return "", true, nil, err
	}
	stop = func() {
		if err := cluster.Stop(); err != nil {
			log.Error("stop embedded PostgreSQL", "err", err)
		}
	}
	if err := ensureDatabase(ctx, cluster.URL("postgres"), embeddedDB); err != nil {
		stop()
		return "", true, nil, err
	}
	return cluster.URL(embeddedDB), true, stop, nil
}

// ensureDatabase creates the database if the cluster lacks it.
func ensureDatabase(ctx context.Context, adminURL, name string) error {
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return fmt.Errorf("connect to embedded PostgreSQL: %w", err)
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return err
	}
	if exists {
		return nil
	}
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	if err != nil && !strings.Contains(err.Error(), "already exists") {
		return fmt.Errorf("create database %s: %w", name, err)
	}
	return nil
}

// jwtSecret returns RAPPORT_JWT_SECRET, or in embedded mode a secret generated once and kept in
// the data directory, so tokens from `rapport token` work with `rapport serve`.
func jwtSecret(cfg config, embedded bool) ([]byte, error) {
	if cfg.JWTSecret != "" {
		if len(cfg.JWTSecret) < 32 {
			return nil, errors.New("RAPPORT_JWT_SECRET must be at least 32 characters")
		}
		return []byte(cfg.JWTSecret), nil
	}
	if !embedded {
		return nil, errors.New("set RAPPORT_JWT_SECRET (at least 32 random characters) when using DATABASE_URL")
	}
	path := filepath.Join(cfg.DataDir, "jwt.secret")
	if b, err := os.ReadFile(path); err == nil && len(b) >= 32 {
		return b, nil
	}
	buf := make([]byte, 32)
	if _, err := rand.Read(buf); err != nil {
		return nil, err
	}
	secret := []byte(hex.EncodeToString(buf))
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) { // another rapport process wrote it first: use theirs
		return os.ReadFile(path)
	} else if err != nil {
		return nil, fmt.Errorf("write JWT secret: %w", err)
	}
	defer f.Close()
	if _, err := f.Write(secret); err != nil {
		return nil, fmt.Errorf("write JWT secret: %w", err)
	}
	return secret, nil
}
