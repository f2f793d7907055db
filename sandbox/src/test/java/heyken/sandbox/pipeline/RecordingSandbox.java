package heyken.sandbox.pipeline;

import heyken.sandbox.SandboxBackend;
import heyken.sandbox.SandboxResult;
import heyken.sandbox.SandboxSpec;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/**
 * A TEST DOUBLE of {@link SandboxBackend} that isolates nothing: it records every spec it is given (and the job script
 * as it was when the job started), then runs the spec's command as a plain host process ({@link ProcessBuilder}) in
 * the spec's work directory with only the spec's environment and {@code PATH}. It honours the wall time (a job past it
 * is killed and reported as a timeout) and nothing else of the policy. Use it only for tests of the code around the
 * sandbox, with scripts the test itself wrote.
 */
final class RecordingSandbox implements SandboxBackend {

  static final String NAME = "recording";

  final List<SandboxSpec> specs = new CopyOnWriteArrayList<>();
  final List<String> scripts = new CopyOnWriteArrayList<>();
  private final Set<String> missingImages;

  RecordingSandbox(String... missingImages) {
    this.missingImages = Set.of(missingImages);
  }

  /** The names of the jobs this backend ran, in order. */
  List<String> ranJobs() {
    return specs.stream().map(s -> s.env().get("CI_JOB_NAME")).toList();
  }

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public Availability availability() {
    return Availability.up("test double: runs jobs as host processes");
  }

  @Override
  public SandboxResult run(SandboxSpec spec, OutputListener output) throws InterruptedException {
    specs.add(spec);
    Path script = spec.workDir().resolve(JobScript.FILE);
    try {
      scripts.add(Files.exists(script) ? Files.readString(script) : "");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    long start = System.nanoTime();
    if (missingImages.contains(spec.image())) {
      return new SandboxResult(-1, SandboxResult.Reason.ERROR, "", "", false, Duration.ZERO, NAME,
          "image " + spec.image() + " is not built here");
    }
    var builder = new ProcessBuilder(spec.command()).directory(spec.workDir().toFile());
    builder.environment().clear();
    builder.environment().put("PATH", "/usr/bin:/bin");
    builder.environment().putAll(spec.env());
    Process process;
    try {
      process = builder.start();
    } catch (IOException e) {
      return new SandboxResult(-1, SandboxResult.Reason.ERROR, "", "", false, Duration.ZERO, NAME, e.getMessage());
    }
    var log = new StringBuffer();
    var stdout = new StringBuffer();
    Thread out = pump(process.getInputStream(), "stdout", log, stdout, output);
    Thread err = pump(process.getErrorStream(), "stderr", log, null, output);
    boolean ended;
    try {
      ended = process.waitFor(spec.policy().wallTime().toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      killTree(process);
      throw e;
    }
    if (!ended) {
      // the children too: a killed shell's "sleep" would keep the output pipes open
      killTree(process);
      process.waitFor();
    }
    out.join();
    err.join();
    Duration took = Duration.ofNanos(System.nanoTime() - start);
    if (!ended) {
      return new SandboxResult(137, SandboxResult.Reason.TIMEOUT, stdout.toString(), log.toString(), false, took, NAME,
          "");
    }
    int code = process.exitValue();
    return new SandboxResult(code, code == 0 ? SandboxResult.Reason.OK : SandboxResult.Reason.EXIT, stdout.toString(),
        log.toString(), false, took, NAME, "");
  }

  private static void killTree(Process process) {
    process.descendants().forEach(ProcessHandle::destroyForcibly);
    process.destroyForcibly();
  }

  private static Thread pump(InputStream in, String stream, StringBuffer log, StringBuffer copy,
      OutputListener output) {
    Thread t = new Thread(() -> {
      byte[] buffer = new byte[8192];
      try (in) {
        for (int n; (n = in.read(buffer)) > 0; ) {
          String text = new String(buffer, 0, n, StandardCharsets.UTF_8);
          log.append(text);
          if (copy != null) {
            copy.append(text);
          }
          output.output(stream, text);
        }
      } catch (IOException e) {
        // the process was killed: what was read is kept
      }
    }, "recording-sandbox-" + stream);
    t.start();
    return t;
  }

  @Override
  public void kill(String jobId) {}

  @Override
  public int removeOrphans() {
    return 0;
  }

  @Override
  public void close() {}
}
