package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/rapportcrm/rapport/db"
	"github.com/rapportcrm/rapport/internal/scaleseed"
	"github.com/rapportcrm/rapport/internal/service"
)

// migrate applies Rapport's and River's migrations.
func migrate(ctx context.Context, cfg config, log *slog.Logger) error {
	url, _, stop, err := database(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer stop()
	start := time.Now()
	if err := db.Migrate(ctx, url); err != nil {
		return err
	}
	log.Info("database migrated", "took", time.Since(start).Round(time.Millisecond).String())
	return nil
}

// seed creates the demo organization unless it exists.
func seed(ctx context.Context, cfg config, log *slog.Logger, stdout io.Writer) error {
	a, err := open(ctx, cfg, log, true, false)
	if err != nil {
		return err
	}
	defer a.close()
	created, err := a.svc.SeedDemo(ctx)
	if err != nil {
		return err
	}
	if created {
		fmt.Fprintln(stdout, "created the demo organization: sign in as admin@demo.test (password rapport-demo)")
	} else {
		fmt.Fprintln(stdout, "the demo organization already exists")
	}
	return nil
}

// seedScale generates bulk data into new organizations (internal/scaleseed), printing a line per
// loaded table.
func seedScale(ctx context.Context, cfg config, log *slog.Logger, stdout io.Writer, opts scaleseed.Options) error {
	a, err := open(ctx, cfg, log, true, false)
	if err != nil {
		return err
	}
	defer a.close()
	opts.Progress = stdout
	res, err := scaleseed.Run(ctx, a.svc, a.pool, opts)
	if err != nil {
		return err
	}
	for _, o := range res.Orgs {
		fmt.Fprintf(stdout, "organization %s: sign in as %s (password %s)\n", o.Organization.Slug, o.AdminEmail, service.DemoPassword)
	}
	return nil
}

// token prints a bearer token for a user as its last line.
func token(ctx context.Context, cfg config, log *slog.Logger, stdout io.Writer, org, user string, ttl time.Duration) error {
	a, err := open(ctx, cfg, log, false, true)
	if err != nil {
		return err
	}
	defer a.close()
	s, err := a.svc.IssueToken(ctx, org, user, ttl)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "# %s (%s) in %s, valid until %s\n", s.User.Email, s.User.Role, org, s.ExpiresAt.Format(time.RFC3339))
	fmt.Fprintln(stdout, s.Token)
	return nil
}
