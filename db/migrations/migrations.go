// Package migrations embeds Rapport's SQL migrations (goose format). Migrations are append-only once
// they have landed: fix a mistake with a new file, never by editing an old one.
package migrations

import "embed"

// FS holds the migration files.
//
//go:embed *.sql
var FS embed.FS
