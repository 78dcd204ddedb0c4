//go:build !unix

package turbo

import "time"

// cpuTime returns the process's CPU time: unknown here.
func cpuTime() time.Duration { return 0 }
