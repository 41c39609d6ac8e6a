package server

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host/orchestrator"
)

// workflowTelemetry holds the workflow metrics, in the server's registry. The counters
// and the histogram are fed from the attached engine's events (RunWorkflows); the
// workflows-by-status gauge is read from the engine at each scrape.
type workflowTelemetry struct {
	steps         *prometheus.CounterVec
	stepSeconds   *prometheus.HistogramVec
	retries       *prometheus.CounterVec
	compensations *prometheus.CounterVec
}

var descWorkflows = prometheus.NewDesc("onex_workflows",
	"Workflows the engine holds, by status (pending, running, paused, completed, failed, cancelled).", []string{"status"}, nil)

// workflowStatuses are the statuses onex_workflows always reports (0 when none).
var workflowStatuses = []abi.WorkflowStatus{abi.WorkflowPending, abi.WorkflowRunning, abi.WorkflowPaused,
	abi.WorkflowCompleted, abi.WorkflowFailed, abi.WorkflowCancelled}

func newWorkflowTelemetry(s *Server, reg *prometheus.Registry) *workflowTelemetry {
	t := &workflowTelemetry{
		steps: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "onex_workflow_steps_total",
			Help: "Workflow steps that ended, by workflow and outcome: completed, failed (every attempt failed) or skipped.",
		}, []string{"workflow", "outcome"}),
		stepSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "onex_workflow_step_seconds",
			Help:    "Wall time of one step attempt that ended (completed, failed or to be retried), by workflow.",
			Buckets: prometheus.ExponentialBuckets(100e-6, 4, 10),
		}, []string{"workflow"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "onex_workflow_retries_total",
			Help: "Step attempts that failed and are tried again, by workflow.",
		}, []string{"workflow"}),
		compensations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "onex_workflow_compensations_total",
			Help: "Compensations of completed steps run by failing or cancelled workflows, by outcome: done or failed.",
		}, []string{"outcome"}),
	}
	reg.MustRegister(t.steps, t.stepSeconds, t.retries, t.compensations, &workflowCollector{s: s})
	return t
}

// observe counts one engine event.
func (t *workflowTelemetry) observe(e orchestrator.Event) {
	switch e.Type {
	case "step.completed", "step.failed", "step.retrying":
		if e.Duration > 0 {
			t.stepSeconds.WithLabelValues(e.Workflow).Observe(e.Duration.Seconds())
		}
	}
	switch e.Type {
	case "step.completed":
		t.steps.WithLabelValues(e.Workflow, "completed").Inc()
	case "step.failed":
		t.steps.WithLabelValues(e.Workflow, "failed").Inc()
	case "step.skipped":
		t.steps.WithLabelValues(e.Workflow, "skipped").Inc()
	case "step.retrying":
		t.retries.WithLabelValues(e.Workflow).Inc()
	case "step.compensated":
		t.compensations.WithLabelValues("done").Inc()
	case "step.compensation_failed":
		t.compensations.WithLabelValues("failed").Inc()
	}
}

// workflowCollector reads onex_workflows from the attached engine at scrape; nothing
// while none is attached.
type workflowCollector struct{ s *Server }

func (c *workflowCollector) Describe(ch chan<- *prometheus.Desc) { ch <- descWorkflows }

func (c *workflowCollector) Collect(ch chan<- prometheus.Metric) {
	e := c.s.engine()
	if e == nil {
		return
	}
	counts := e.Counts()
	for _, st := range workflowStatuses {
		ch <- prometheus.MustNewConstMetric(descWorkflows, prometheus.GaugeValue, float64(counts[st]), string(st))
	}
}
