//go:build !unix

package integration

import "context"

// lockFile is a no-op where flock is unavailable; concurrent installs then
// merely repeat work, as the marker is written atomically.
func lockFile(ctx context.Context, path string) (func(), error) {
	return func() {}, ctx.Err()
}
