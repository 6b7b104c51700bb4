package main

import (
	"fmt"
	"time"

	"github.com/caarlos0/env/v11"
)

// config is read from the environment; the README's table documents every variable.
type config struct {
	DatabaseURL        string        `env:"DATABASE_URL"`
	Addr               string        `env:"RAPPORT_ADDR" envDefault:"127.0.0.1:8080"`
	DataDir            string        `env:"RAPPORT_DATA_DIR" envDefault:"./.rapport"`
	Env                string        `env:"RAPPORT_ENV" envDefault:"development"`
	LogLevel           string        `env:"RAPPORT_LOG_LEVEL" envDefault:"info"`
	JWTSecret          string        `env:"RAPPORT_JWT_SECRET"`
	TokenTTL           time.Duration `env:"RAPPORT_TOKEN_TTL" envDefault:"12h"`
	OIDCIssuer         string        `env:"RAPPORT_OIDC_ISSUER"`
	OIDCAudience       string        `env:"RAPPORT_OIDC_AUDIENCE"`
	CORSOrigins        []string      `env:"RAPPORT_CORS_ORIGINS" envSeparator:","`
	Introspection      *bool         `env:"RAPPORT_INTROSPECTION"`
	MaxBodyBytes       int64         `env:"RAPPORT_MAX_BODY_BYTES" envDefault:"1048576"`
	StatementTimeout   time.Duration `env:"RAPPORT_STATEMENT_TIMEOUT" envDefault:"10s"`
	MigrateOnStart     *bool         `env:"RAPPORT_MIGRATE_ON_START"`
	DBMaxConns         int32         `env:"RAPPORT_DB_MAX_CONNS" envDefault:"20"`
	MaxComplexity      int           `env:"RAPPORT_MAX_COMPLEXITY" envDefault:"5000"`
	MaxDepth           int           `env:"RAPPORT_MAX_DEPTH" envDefault:"12"`
	MaxAliases         int           `env:"RAPPORT_MAX_ALIASES" envDefault:"30"`
	MaxRootFields      int           `env:"RAPPORT_MAX_ROOT_FIELDS" envDefault:"20"`
	APIKeyRate         float64       `env:"RAPPORT_API_KEY_RATE" envDefault:"50"`
	APIKeyBurst        int           `env:"RAPPORT_API_KEY_BURST" envDefault:"100"`
	AnonymousPerMinute int           `env:"RAPPORT_ANONYMOUS_PER_MINUTE" envDefault:"120"`
	FormPerMinute      int           `env:"RAPPORT_FORM_PER_MINUTE" envDefault:"6000"`
	EventPollInterval  time.Duration `env:"RAPPORT_EVENT_POLL_INTERVAL" envDefault:"250ms"`
	ShutdownTimeout    time.Duration `env:"RAPPORT_SHUTDOWN_TIMEOUT" envDefault:"20s"`
	PprofAddr          string        `env:"RAPPORT_PPROF_ADDR"`
}

func loadConfig() (config, error) {
	var c config
	if err := env.Parse(&c); err != nil {
		return c, fmt.Errorf("configuration: %w", err)
	}
	if c.Env != "development" && c.Env != "production" {
		return c, fmt.Errorf("configuration: RAPPORT_ENV is development or production, not %q", c.Env)
	}
	return c, nil
}

func (c config) development() bool { return c.Env == "development" }

func (c config) introspection() bool {
	if c.Introspection != nil {
		return *c.Introspection
	}
	return c.development()
}

// migrateOnStart defaults to on for the embedded database and in development.
func (c config) migrateOnStart() bool {
	if c.MigrateOnStart != nil {
		return *c.MigrateOnStart
	}
	return c.DatabaseURL == "" || c.development()
}
