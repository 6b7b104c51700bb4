package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/rapportcrm/rapport/internal/loadtest"
)

// urlList is a repeatable --url flag.
type urlList []string

func (u *urlList) String() string { return strings.Join(*u, ",") }

func (u *urlList) Set(v string) error {
	*u = append(*u, v)
	return nil
}

// benchFanout measures how fast deal moves reach live board subscribers, spread over one or more
// API processes, and what the subscribers cost in write throughput (internal/loadtest.RunFanout).
func benchFanout(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench fanout", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var urls urlList
	fs.Var(&urls, "url", "base URL of an API process; repeat for more (subscribers go round robin, moves through the first)")
	token := fs.String("token", "", "a user's bearer token (default $RAPPORT_TOKEN)")
	subscribers := fs.Int("subscribers", 200, "WebSocket connections, one pipelineChanged subscription each")
	moves := fs.Int("moves", 500, "measured moves")
	rate := fs.Float64("rate", 20, "measured moves per second (sent one at a time)")
	wait := fs.Duration("wait", 10*time.Second, "how long after the last move its messages may take")
	throughput := fs.Duration("throughput", 10*time.Second, "measure move-opportunity at maximum throughput this long without and with the subscribers (0: skip)")
	connections := fs.Int("connections", 16, "requests in flight of the throughput measurement")
	scalars := fs.Bool("scalars-only", false, "subscribe without the nested stage, fromStage and owner objects")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: rapport bench fanout --url http://127.0.0.1:8080 [--url http://127.0.0.1:8081] --token <bearer> [flags]\n\n"+
			"Needs the deal data set (rapport bench --deals N). The subscription:\n\n"+loadtest.FanoutQuery+"\n\nflags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("bench fanout: unexpected arguments %q", fs.Args())
	}
	if len(urls) == 0 {
		urls = urlList{"http://127.0.0.1:8080"}
	}
	if *token == "" {
		*token = os.Getenv("RAPPORT_TOKEN")
	}
	query := loadtest.FanoutQuery
	if *scalars {
		query = loadtest.FanoutScalarsQuery
	}
	res, err := loadtest.RunFanout(ctx, loadtest.FanoutConfig{URLs: urls, Token: *token, Subscribers: *subscribers, Moves: *moves,
		Rate: *rate, Wait: *wait, Throughput: *throughput, Connections: *connections, Query: query, Progress: stderr})
	if res.Subscribers > 0 {
		if werr := loadtest.WriteFanout(stdout, res); werr != nil {
			return errors.Join(err, werr)
		}
	}
	return err
}
