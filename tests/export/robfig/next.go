// The firings robfig/cron v3 gives Kubernetes CronJob schedules, computed as the CronJob
// controller computes them (pkg/controller/cronjob/utils.go): cron.ParseStandard of
// "TZ=<spec.timeZone> <spec.schedule>", then Next of the last firing, again and again.
//
// Usage: next FROM TO SCHEDULE...   (FROM, TO: Unix seconds; SCHEDULE: "TZ=Zone m h dom mon dow")
//
// One line per schedule: the Unix seconds of each firing in [FROM, TO), separated by spaces,
// and at the end "stall T" when Next(T) is not after T (the controller then refuses the
// schedule). Built by tests/export/robfig_test.ts against the library's source; never committed
// as a binary.
package main

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/robfig/cron/v3"
)

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: next FROM TO SCHEDULE...")
		os.Exit(2)
	}
	from, errFrom := strconv.ParseInt(os.Args[1], 10, 64)
	to, errTo := strconv.ParseInt(os.Args[2], 10, 64)
	if errFrom != nil || errTo != nil {
		fmt.Fprintln(os.Stderr, "FROM and TO are Unix seconds")
		os.Exit(2)
	}
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	for _, spec := range os.Args[3:] {
		schedule, err := cron.ParseStandard(spec)
		if err != nil {
			fmt.Fprintf(os.Stderr, "%q: %v\n", spec, err)
			os.Exit(2)
		}
		line := []byte{}
		last := time.Unix(from-1, 0)
		for {
			next := schedule.Next(last)
			if next.IsZero() || next.Unix() >= to {
				break
			}
			if !next.After(last) {
				line = append(line, fmt.Sprintf(" stall %d", next.Unix())...)
				break
			}
			line = append(line, fmt.Sprintf(" %d", next.Unix())...)
			last = next
		}
		fmt.Fprintln(out, string(line))
	}
}
