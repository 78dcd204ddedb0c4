// Package runner runs a job's Beam pipeline on the runner Beam's flags name
// (prism, embedded, by default) and collects its metrics, the same for
// every groundbeam job.
package runner

import (
	"context"
	"fmt"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/metrics"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/x/beamx"
)

// Metrics are a finished run's Beam counters and distributions by name,
// summed over the steps that report them.
type Metrics struct {
	Counters      map[string]int64
	Distributions map[string]metrics.DistributionValue
}

// Run runs p and returns its metrics (committed where the runner reports
// them, else attempted).
func Run(ctx context.Context, p *beam.Pipeline) (Metrics, error) {
	m := Metrics{Counters: map[string]int64{}, Distributions: map[string]metrics.DistributionValue{}}
	pr, err := beamx.RunWithMetrics(ctx, p)
	if err != nil {
		return m, fmt.Errorf("run: %w", err)
	}
	if pr == nil {
		return m, nil
	}
	all := pr.Metrics().AllMetrics()
	for _, c := range all.Counters() {
		m.Counters[c.Key.Name] += c.Result()
	}
	for _, d := range all.Distributions() {
		v, old := d.Result(), m.Distributions[d.Key.Name]
		if old.Count > 0 {
			v.Min, v.Max = min(v.Min, old.Min), max(v.Max, old.Max)
			v.Count, v.Sum = v.Count+old.Count, v.Sum+old.Sum
		}
		m.Distributions[d.Key.Name] = v
	}
	return m, nil
}
