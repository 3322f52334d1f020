package io.ferry.host.metrics;

import io.ferry.host.FerryHost;
import io.ferry.host.session.CallCounts;
import io.ferry.host.session.CallSink;
import io.ferry.protocol.Op;
import io.ferry.protocol.Status;
import io.prometheus.metrics.model.registry.MultiCollector;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.ClassicHistogramBuckets;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.CounterSnapshot.CounterDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot.GaugeDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.HistogramSnapshot;
import io.prometheus.metrics.model.snapshots.HistogramSnapshot.HistogramDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Every Ferry series of {@code /metrics} (docs/metrics.md lists them), built at scrape time from what the host
 * keeps anyway: {@link FerryHost#guests()}, {@link FerryHost#scheduling}, {@link FerryHost#queueWaits} and the
 * guests' call counters ({@link FerryHost#counters}). Nothing is registered per guest: a guest added live appears at
 * the next scrape, and a removed guest's series are gone from it.
 */
public final class FerryMetrics implements MultiCollector {
    /** Upper bounds of {@code ferry_queue_wait_seconds}, in ns (+Inf implied). */
    static final long[] WAIT_BOUNDS_NANOS = {10_000, 50_000, 100_000, 250_000, 500_000, 1_000_000, 2_500_000,
            5_000_000, 10_000_000, 25_000_000, 50_000_000, 100_000_000, 250_000_000, 500_000_000, 1_000_000_000,
            2_500_000_000L, 5_000_000_000L, 10_000_000_000L};

    private static final Op[] OPS = Op.values();
    private static final Status[] STATUSES = Status.values();

    private final FerryHost host;

    private FerryMetrics(FerryHost host) {
        this.host = host;
    }

    /** A registry holding this host's series only (not the JVM-wide default registry). */
    public static PrometheusRegistry registry(FerryHost host) {
        PrometheusRegistry r = new PrometheusRegistry();
        r.register(new FerryMetrics(host));
        return r;
    }

    @Override
    public MetricSnapshots collect() {
        Families f = new Families();
        for (FerryHost.GuestView g : host.guests()) {
            Labels guest = Labels.of("guest", g.name());
            f.counter("ferry_sessions", "Sessions of the guest since the host started (each reconnect is one)",
                    guest, g.sessions());
            f.gauge("ferry_sessions_active", "Sessions of the guest open now (one per busy lane)", guest,
                    g.lanesBusy());
            f.gauge("ferry_device_memory_bytes", "Device memory the guest's buffers hold", guest,
                    g.deviceMemoryBytes());
            f.gauge("ferry_device_memory_quota_bytes", "The guest's device memory quota (quotas.deviceMemory)", guest,
                    g.quotas().deviceMemoryBytes());
            f.gauge("ferry_objects", "Objects (buffers, kernels, events, ...) the guest's sessions hold", guest,
                    g.objects());
            f.gauge("ferry_objects_quota", "The guest's object quota (quotas.objects)", guest, g.quotas().objects());
            f.gauge("ferry_commands_in_flight", "Device commands the guest enqueued and did not finish yet", guest,
                    g.commandsInFlight());
            CallCounts.Totals t;
            try {
                t = host.counters(g.name());
            } catch (IllegalArgumentException removed) { // removed since guests() was read
                t = CallCounts.Totals.empty();
            }
            for (int i = 0; i < t.calls().length; i++) {
                if (t.calls()[i] > 0) {
                    boolean other = i == CallCounts.OTHER;
                    f.counter("ferry_calls", "Calls the guest made, by operation and the status they were answered "
                            + "with (one-way calls: served, or the status of their failure)", Labels.of("guest",
                            g.name(), "op", other ? "OTHER" : OPS[i / CallCounts.STATUSES].name(),
                            "status", other ? "OTHER" : STATUSES[i % CallCounts.STATUSES].name()), t.calls()[i]);
                }
            }
            for (CallSink.Quota q : CallSink.Quota.values()) {
                long n = t.refusals()[q.ordinal()];
                if (q != CallSink.Quota.OTHER || n > 0) {
                    f.counter("ferry_quota_refusals", "Calls of the guest refused for going over a quota", Labels.of(
                            "guest", g.name(), "quota", q.label()), n);
                }
            }
            f.counter("ferry_worker_restarts", "Device workers of the guest lost while serving a session (crashed, "
                    + "or killed for an overrun or a build over compileTimeLimit); the next session starts a new one",
                    guest, t.workerRestarts());
            f.counter("ferry_tee_invocations", "TEE commands the guest invoked (TEE_INVOKE calls, any outcome)", guest,
                    t.calls(Op.TEE_INVOKE));
            f.counter("ferry_tee_denials", "TEE requests of the guest the TEE policy denied (action: open or invoke)",
                    Labels.of("action", "open", "guest", g.name()), t.teeDenials()[0]);
            f.counter("ferry_tee_denials", "TEE requests of the guest the TEE policy denied (action: open or invoke)",
                    Labels.of("action", "invoke", "guest", g.name()), t.teeDenials()[1]);
            for (FerryHost.SchedulingView v : host.scheduling(g.name())) {
                Labels gd = Labels.of("device", v.device(), "guest", g.name());
                f.counter("ferry_device_seconds", "Device time the scheduler charged the guest", gd,
                        v.deviceNanos() / 1e9);
                f.counter("ferry_deadline_misses", "Commands of the guest that completed after their hint's deadline",
                        gd, v.deadlineMisses());
                f.counter("ferry_overruns", "Commands of the guest that ran over its overrunLimit and were cancelled",
                        gd, v.overruns());
                f.gauge("ferry_queued_commands", "Commands of the guest waiting for the device", gd, v.queued());
                f.gauge("ferry_running_commands", "Commands of the guest on the device now", gd, v.inFlight());
            }
            for (FerryHost.QueueWaits w : host.queueWaits(g.name(), WAIT_BOUNDS_NANOS)) {
                f.histogram(Labels.of("device", w.device(), "guest", g.name()), w);
            }
        }
        return f.build();
    }

    /** Data points gathered by family name, in first-seen order. */
    private static final class Families {
        private final Map<String, CounterSnapshot.Builder> counters = new LinkedHashMap<>();
        private final Map<String, GaugeSnapshot.Builder> gauges = new LinkedHashMap<>();
        private HistogramSnapshot.Builder waits;

        void counter(String name, String help, Labels labels, double value) {
            counters.computeIfAbsent(name, n -> CounterSnapshot.builder().name(n).help(help))
                    .dataPoint(CounterDataPointSnapshot.builder().labels(labels).value(Math.max(0, value)).build());
        }

        void gauge(String name, String help, Labels labels, double value) {
            gauges.computeIfAbsent(name, n -> GaugeSnapshot.builder().name(n).help(help))
                    .dataPoint(GaugeDataPointSnapshot.builder().labels(labels).value(value).build());
        }

        void histogram(Labels labels, FerryHost.QueueWaits w) {
            if (waits == null) {
                waits = HistogramSnapshot.builder().name("ferry_queue_wait_seconds")
                        .help("How long the guest's device commands waited for their turn on the device");
            }
            double[] bounds = new double[WAIT_BOUNDS_NANOS.length + 1];
            long[] counts = new long[bounds.length];
            long below = 0;
            for (int i = 0; i < WAIT_BOUNDS_NANOS.length; i++) {
                bounds[i] = WAIT_BOUNDS_NANOS[i] / 1e9;
                long c = Math.max(below, w.cumulative()[i]);
                counts[i] = c - below;
                below = c;
            }
            bounds[bounds.length - 1] = Double.POSITIVE_INFINITY;
            counts[counts.length - 1] = Math.max(0, w.count() - below);
            waits.dataPoint(HistogramDataPointSnapshot.builder().labels(labels)
                    .classicHistogramBuckets(ClassicHistogramBuckets.of(bounds, counts))
                    .sum(w.sumNanos() / 1e9).build());
        }

        MetricSnapshots build() {
            List<MetricSnapshot> all = new ArrayList<>();
            counters.values().forEach(b -> all.add(b.build()));
            gauges.values().forEach(b -> all.add(b.build()));
            if (waits != null) {
                all.add(waits.build());
            }
            return new MetricSnapshots(all);
        }
    }
}
