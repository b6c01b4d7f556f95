//go:build !linux || 386

package transport

import (
	"context"
	"fmt"
	"runtime"
)

// SCTPAvailable reports why kernel SCTP cannot be used: the SCTP binding
// only supports Linux (not 386).
func SCTPAvailable() error {
	return fmt.Errorf("%w: SCTP not supported on %s/%s", ErrSCTPUnavailable, runtime.GOOS, runtime.GOARCH)
}

func dialSCTP(ctx context.Context, cfg Config) (Conn, error) { return nil, SCTPAvailable() }

func listenSCTP(cfg Config) (Listener, error) { return nil, SCTPAvailable() }
