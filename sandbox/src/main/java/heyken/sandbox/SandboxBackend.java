package heyken.sandbox;

/**
 * Runs untrusted code in isolation under a {@link SandboxPolicy}. Implementations: {@link DockerSandbox} (primary)
 * and {@link BubblewrapSandbox} (where no engine runs). Every method blocks: call them from a blocking dispatcher.
 */
public interface SandboxBackend extends AutoCloseable {

  /** {@code docker} or {@code bubblewrap}: shown in status and in every run. */
  String name();

  /** Whether this backend can run jobs now, and if not why and what to do. Cheap enough to call per status request. */
  Availability availability();

  /**
   * Runs one job to its end and removes what it left (container, cgroup). Output chunks reach {@code output} as they
   * come (for live logs), from the calling thread or another one, never after this method returned. Never throws for
   * the job's own failures: those are a result with a reason. Throws {@link InterruptedException} when the calling
   * thread is interrupted, after killing the job.
   */
  SandboxResult run(SandboxSpec spec, OutputListener output) throws InterruptedException;

  /** Kills a running job (a cancelled run); no-op when it is not running. */
  void kill(String jobId);

  /**
   * Removes jobs this backend left behind in an earlier life (containers labelled {@code heyken.job}, cgroups), e.g.
   * after a core was killed. Returns how many it removed. Called when a core starts.
   */
  int removeOrphans();

  @Override
  void close();

  /** Availability of a backend. */
  record Availability(boolean available, String detail) {
    public static Availability up(String detail) {
      return new Availability(true, detail);
    }

    public static Availability down(String detail) {
      return new Availability(false, detail);
    }
  }

  /** Receives output as the job produces it. */
  @FunctionalInterface
  interface OutputListener {
    OutputListener NONE = (stream, text) -> {};

    /** @param stream {@code stdout} or {@code stderr} */
    void output(String stream, String text);
  }
}
