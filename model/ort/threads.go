package ort

// SharedBy returns o for a worker with cores CPUs that runs up to runs
// sessions at once (batches in flight): on the CPU provider, an unset
// intra-op thread count becomes cores/runs (at least one), so that the
// runs share the cores instead of each starting a thread per core.
// Oversubscribed, ONNX Runtime's threads spin-wait inside every parallel
// section for workers that another run's threads have descheduled.
// Explicit thread counts and GPU providers are left as they are.
func (o Options) SharedBy(runs, cores int) Options {
	if o.IntraOpThreads == 0 && (o.Provider == "" || o.Provider == "cpu") {
		o.IntraOpThreads = max(1, cores/max(runs, 1))
	}
	return o
}
