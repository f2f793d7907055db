package heyken.sandbox;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Picks the sandbox backend of a core from {@code heyken.sandbox.backend}. */
public final class SandboxBackends {

  private static final Logger log = LoggerFactory.getLogger(SandboxBackends.class);

  private SandboxBackends() {}

  /**
   * {@code docker} and {@code bubblewrap} are taken as configured, even when unavailable (their runs then fail with the
   * reason). {@code auto}: Docker when its engine answers and the default image is built, else bubblewrap when it
   * works here, else Docker anyway, so that runs fail with Docker's reason and what to do about it.
   */
  public static SandboxBackend select(SandboxSettings settings) {
    switch (settings.backend()) {
      case SandboxSettings.DOCKER -> {
        var docker = new DockerSandbox(settings);
        logChoice(docker, "configured (heyken.sandbox.backend=docker)");
        return docker;
      }
      case SandboxSettings.BUBBLEWRAP -> {
        var bubblewrap = new BubblewrapSandbox();
        logChoice(bubblewrap, "configured (heyken.sandbox.backend=bubblewrap)");
        return bubblewrap;
      }
      default -> {
        var docker = new DockerSandbox(settings);
        var dockerState = docker.availability();
        if (dockerState.available()) {
          log.info("sandbox backend=docker chosen=auto why=\"the engine answers\" detail=\"{}\"", dockerState.detail());
          return docker;
        }
        var bubblewrap = new BubblewrapSandbox();
        var bubblewrapState = bubblewrap.availability();
        if (bubblewrapState.available()) {
          docker.close();
          log.info("sandbox backend=bubblewrap chosen=auto why=\"Docker is down: {}\" detail=\"{}\"",
              dockerState.detail(), bubblewrapState.detail());
          return bubblewrap;
        }
        bubblewrap.close();
        log.warn("sandbox backend=docker chosen=auto why=\"no backend works; jobs fail until one does\" docker=\"{}\" "
            + "bubblewrap=\"{}\"", dockerState.detail(), bubblewrapState.detail());
        return docker;
      }
    }
  }

  private static void logChoice(SandboxBackend backend, String why) {
    var state = backend.availability();
    if (state.available()) {
      log.info("sandbox backend={} chosen=\"{}\" detail=\"{}\"", backend.name(), why, state.detail());
    } else {
      log.warn("sandbox backend={} chosen=\"{}\" available=false detail=\"{}\"", backend.name(), why, state.detail());
    }
  }
}
