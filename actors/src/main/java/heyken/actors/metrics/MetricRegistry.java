package heyken.actors.metrics;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.atomic.DoubleAdder;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.DoubleSupplier;

/**
 * A small metrics registry that renders the Prometheus text exposition format 0.0.4: labelled counters and
 * histograms updated from any thread without locks, and values read from elsewhere at scrape time (counters and
 * gauges backed by a function). Every family keeps at most {@link #MAX_SERIES} label combinations; further ones are
 * folded into one series whose labels are all {@code "other"}, so a caller that puts unbounded values into a label
 * cannot make the registry grow without end.
 */
public final class MetricRegistry {

  public static final String CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";
  static final int MAX_SERIES = 500;

  private final Map<String, Family> families = new ConcurrentSkipListMap<>();

  /** A labelled counter: {@code inc(labelValues...)}. */
  public Counter counter(String name, String help, String... labelNames) {
    return (Counter) families.computeIfAbsent(name, n -> new Counter(n, help, labelNames));
  }

  /** A labelled histogram of seconds (or any unit) with the given upper bounds. */
  public Histogram histogram(String name, String help, double[] buckets, String... labelNames) {
    return (Histogram) families.computeIfAbsent(name, n -> new Histogram(n, help, buckets, labelNames));
  }

  /** A counter whose value is read at scrape time (it must never decrease). */
  public void counterFunction(String name, String help, DoubleSupplier value) {
    families.computeIfAbsent(name, n -> new Function(n, help, "counter", value));
  }

  /** A gauge whose value is read at scrape time. */
  public void gauge(String name, String help, DoubleSupplier value) {
    families.computeIfAbsent(name, n -> new Function(n, help, "gauge", value));
  }

  /** Every family in the text format, sorted by name. */
  public String render() {
    var out = new StringBuilder(4096);
    for (Family f : families.values()) {
      out.append("# HELP ").append(f.name).append(' ').append(escapeHelp(f.help)).append('\n');
      out.append("# TYPE ").append(f.name).append(' ').append(f.type()).append('\n');
      f.render(out);
    }
    return out.toString();
  }

  // ---------------------------------------------------------------- families

  private abstract static class Family {
    final String name;
    final String help;

    Family(String name, String help) {
      if (!name.matches("[a-zA-Z_:][a-zA-Z0-9_:]*")) {
        throw new IllegalArgumentException("not a metric name: " + name);
      }
      this.name = name;
      this.help = help;
    }

    abstract String type();

    abstract void render(StringBuilder out);
  }

  private abstract static class Labelled<S> extends Family {
    final List<String> labelNames;
    final Map<List<String>, S> series = new ConcurrentHashMap<>();
    private final List<String> overflow;

    Labelled(String name, String help, String[] labelNames) {
      super(name, help);
      this.labelNames = List.of(labelNames);
      this.overflow = Collections.nCopies(labelNames.length, "other");
    }

    abstract S newSeries();

    S series(String... values) {
      if (values.length != labelNames.size()) {
        throw new IllegalArgumentException(name + " has labels " + labelNames + ", got " + Arrays.toString(values));
      }
      var key = new ArrayList<String>(values.length);
      for (String v : values) {
        key.add(v == null ? "" : v);
      }
      S s = series.get(key);
      if (s != null) {
        return s;
      }
      if (series.size() >= MAX_SERIES) {
        return series.computeIfAbsent(overflow, k -> newSeries());
      }
      return series.computeIfAbsent(List.copyOf(key), k -> newSeries());
    }

    /** {@code {a="x",b="y"}} plus extra pairs (the histogram's {@code le}). */
    String labels(List<String> values, String... extra) {
      if (labelNames.isEmpty() && extra.length == 0) {
        return "";
      }
      var b = new StringBuilder("{");
      for (int i = 0; i < labelNames.size(); i++) {
        if (i > 0) {
          b.append(',');
        }
        b.append(labelNames.get(i)).append("=\"").append(escapeLabel(values.get(i))).append('"');
      }
      for (int i = 0; i + 1 < extra.length; i += 2) {
        if (b.length() > 1) {
          b.append(',');
        }
        b.append(extra[i]).append("=\"").append(escapeLabel(extra[i + 1])).append('"');
      }
      return b.append('}').toString();
    }

    /** Series in a stable order, so that two scrapes read alike. */
    List<Map.Entry<List<String>, S>> sorted() {
      var list = new ArrayList<>(series.entrySet());
      list.sort((a, b) -> String.join("\u0000", a.getKey()).compareTo(String.join("\u0000", b.getKey())));
      return list;
    }
  }

  /** A monotonically increasing count per label combination. */
  public static final class Counter extends Labelled<LongAdder> {
    Counter(String name, String help, String[] labelNames) {
      super(name, help, labelNames);
    }

    @Override
    LongAdder newSeries() {
      return new LongAdder();
    }

    public void inc(String... labelValues) {
      series(labelValues).increment();
    }

    public void add(long n, String... labelValues) {
      if (n < 0) {
        throw new IllegalArgumentException("a counter only goes up, got " + n);
      }
      series(labelValues).add(n);
    }

    /** The sum over the label combinations {@code accept} takes (given their values in label order). */
    public long sum(java.util.function.Predicate<List<String>> accept) {
      long total = 0;
      for (var e : series.entrySet()) {
        if (accept.test(e.getKey())) {
          total += e.getValue().sum();
        }
      }
      return total;
    }

    /** Every label combination counted so far with its value. */
    public Map<List<String>, Long> values() {
      var copy = new java.util.HashMap<List<String>, Long>();
      series.forEach((labels, count) -> copy.put(labels, count.sum()));
      return copy;
    }

    /** The current value (0 for a combination never counted). */
    public long value(String... labelValues) {
      LongAdder s = series.get(List.of(labelValues));
      return s == null ? 0 : s.sum();
    }

    @Override
    String type() {
      return "counter";
    }

    @Override
    void render(StringBuilder out) {
      for (var e : sorted()) {
        out.append(name).append(labels(e.getKey())).append(' ').append(e.getValue().sum()).append('\n');
      }
    }
  }

  /** Observations counted into cumulative buckets, with their sum and count. */
  public static final class Histogram extends Labelled<Histogram.Series> {
    private final double[] bounds;

    Histogram(String name, String help, double[] bounds, String[] labelNames) {
      super(name, help, labelNames);
      this.bounds = bounds.clone();
      Arrays.sort(this.bounds);
    }

    static final class Series {
      final LongAdder[] buckets;
      final DoubleAdder sum = new DoubleAdder();
      final LongAdder count = new LongAdder();

      Series(int n) {
        buckets = new LongAdder[n];
        for (int i = 0; i < n; i++) {
          buckets[i] = new LongAdder();
        }
      }
    }

    @Override
    Series newSeries() {
      return new Series(bounds.length);
    }

    public void observe(double value, String... labelValues) {
      Series s = series(labelValues);
      for (int i = 0; i < bounds.length; i++) {
        if (value <= bounds[i]) {
          s.buckets[i].increment();
          break;
        }
      }
      s.sum.add(value);
      s.count.increment();
    }

    /** How many observations a label combination has (0 when none). */
    public long count(String... labelValues) {
      Series s = series.get(List.of(labelValues));
      return s == null ? 0 : s.count.sum();
    }

    @Override
    String type() {
      return "histogram";
    }

    @Override
    void render(StringBuilder out) {
      for (var e : sorted()) {
        Series s = e.getValue();
        long count = s.count.sum();
        long cumulative = 0;
        for (int i = 0; i < bounds.length; i++) {
          cumulative += s.buckets[i].sum();
          out.append(name).append("_bucket").append(labels(e.getKey(), "le", number(bounds[i]))).append(' ')
              .append(Math.min(cumulative, count)).append('\n');
        }
        out.append(name).append("_bucket").append(labels(e.getKey(), "le", "+Inf")).append(' ').append(count)
            .append('\n');
        out.append(name).append("_sum").append(labels(e.getKey())).append(' ').append(number(s.sum.sum()))
            .append('\n');
        out.append(name).append("_count").append(labels(e.getKey())).append(' ').append(count).append('\n');
      }
    }
  }

  private static final class Function extends Family {
    private final String type;
    private final DoubleSupplier value;

    Function(String name, String help, String type, DoubleSupplier value) {
      super(name, help);
      this.type = type;
      this.value = value;
    }

    @Override
    String type() {
      return type;
    }

    @Override
    void render(StringBuilder out) {
      double v;
      try {
        v = value.getAsDouble();
      } catch (RuntimeException e) {
        return; // a value that cannot be read right now is left out of this scrape, not reported as 0
      }
      out.append(name).append(' ').append(number(v)).append('\n');
    }
  }

  // ---------------------------------------------------------------- text format

  static String number(double v) {
    if (Double.isNaN(v)) {
      return "NaN";
    }
    if (Double.isInfinite(v)) {
      return v > 0 ? "+Inf" : "-Inf";
    }
    if (v == Math.rint(v) && Math.abs(v) < 1e15) {
      return Long.toString((long) v);
    }
    return Double.toString(v);
  }

  static String escapeLabel(String v) {
    return v.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n");
  }

  private static String escapeHelp(String v) {
    return v.replace("\\", "\\\\").replace("\n", "\\n");
  }
}
