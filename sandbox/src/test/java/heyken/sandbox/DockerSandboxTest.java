package heyken.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.exception.NotFoundException;
import com.typesafe.config.ConfigFactory;
import java.io.File;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/** The sandbox contract on the Docker engine, plus what only Docker has: images. */
class DockerSandboxTest extends SandboxBackendContract {

  static final String BUSYBOX = "sandbox/busybox:1";
  static final String PYTHON = "sandbox/python:1";

  private final SandboxSettings settings = SandboxSettings.from(
      ConfigFactory.parseFile(new File("../application.conf")).resolve());
  private final DockerEngine engine = new DockerEngine(settings.dockerHost(), Duration.ofSeconds(10));

  @Override
  protected SandboxBackend createBackend() {
    return new DockerSandbox(settings);
  }

  @Override
  protected String shellImage() {
    return BUSYBOX;
  }

  @Override
  protected String pythonImage() {
    return PYTHON;
  }

  @Override
  protected boolean pythonAvailable() {
    return true; // the default image; the backend is unavailable without it
  }

  @Override
  protected boolean enforcesMemory() {
    return true;
  }

  @Override
  protected boolean enforcesPids() {
    return true;
  }

  @Override
  protected void leaveOrphan(String jobId) {
    DockerClient docker = engine.client();
    // what a core killed mid-job leaves: a running, labelled container (the owner label of a dead process)
    String id = docker.createContainerCmd(BUSYBOX)
        .withEntrypoint("sleep", "300")
        .withLabels(Map.of(DockerSandbox.LABEL_SANDBOX, "1", DockerSandbox.LABEL_JOB, jobId,
            DockerSandbox.LABEL_OWNER, DockerSandbox.Owner.SELF.replaceAll("/\\d+/", "/999999999/")))
        .withHostConfig(com.github.dockerjava.api.model.HostConfig.newHostConfig().withNetworkMode("none")
            .withInit(true))
        .exec().getId();
    docker.startContainerCmd(id).exec();
  }

  @Override
  protected boolean nothingLeftOf(String jobId) {
    return engine.client().listContainersCmd().withShowAll(true)
        .withLabelFilter(Map.of(DockerSandbox.LABEL_JOB, jobId)).exec().isEmpty();
  }

  @AfterAll
  void closeEngine() throws IOException {
    engine.close();
  }

  @Test
  void aMissingImageFailsWithWhatToDo() throws Exception {
    var spec = new SandboxSpec(jobId(), "sandbox/not-built:9", List.of("true"), Map.of(), workDir(), null, policy());
    var result = run(spec);
    assertEquals(SandboxResult.Reason.ERROR, result.reason(), () -> describe(result));
    assertEquals("image sandbox/not-built:9 is not built here: run scripts/docker-engine.sh", result.detail());
    assertTrue(nothingLeftOf(spec.jobId()));
  }

  @Test
  void aRegistryImageNameRunsInItsLocalAlias() throws Exception {
    var spec = new SandboxSpec(jobId(), "python:3.11-slim", List.of("python3", "-c", "print(6 * 7)"), Map.of(),
        workDir(), null, policy());
    var result = run(spec);
    assertEquals(SandboxResult.Reason.OK, result.reason(), () -> describe(result));
    assertEquals("42\n", result.stdout());
  }

  @Test
  void theContainerIsRemovedAfterTheJob() throws Exception {
    var spec = sh("echo bye");
    var result = run(spec);
    assertEquals(SandboxResult.Reason.OK, result.reason(), () -> describe(result));
    assertTrue(nothingLeftOf(spec.jobId()));
  }

  @Test
  void removeOrphansLeavesTheJobsOfAnotherLiveCore() throws Exception {
    String jobId = "other-core-" + System.nanoTime();
    // this JVM's parent (Maven's JVM or a shell) stands in for a second core: a live process on this host
    var parent = ProcessHandle.current().parent().orElseThrow();
    String owner = DockerSandbox.Owner.SELF.replaceAll("/\\d+/\\d+$", "/" + parent.pid() + "/"
        + parent.info().startInstant().orElseThrow().toEpochMilli());
    DockerClient docker = engine.client();
    String id = docker.createContainerCmd(BUSYBOX).withEntrypoint("sleep", "300")
        .withLabels(Map.of(DockerSandbox.LABEL_SANDBOX, "1", DockerSandbox.LABEL_JOB, jobId,
            DockerSandbox.LABEL_OWNER, owner))
        .withHostConfig(com.github.dockerjava.api.model.HostConfig.newHostConfig().withNetworkMode("none"))
        .exec().getId();
    try {
      backend.removeOrphans();
      assertFalse(nothingLeftOf(jobId), "the job of a live core was removed");
    } finally {
      try {
        docker.removeContainerCmd(id).withForce(true).exec();
      } catch (NotFoundException e) {
        // removed by the test's failure path already
      }
    }
  }
}
