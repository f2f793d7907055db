package heyken.sandbox;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * One job for a sandbox: run {@code command} (an argv, e.g. {@code ["/bin/sh", "-c", script]}) in {@code image} with
 * {@code workDir} mounted read-write at {@link #WORK_DIR} (the only writable place besides a size-limited /tmp) and
 * as the current directory, {@code stdin} as standard input (empty when null), under {@code policy}.
 *
 * @param jobId unique per job; containers are labelled with it ({@code heyken.job=<jobId>}), cgroups named after it.
 *     Only {@code [A-Za-z0-9_.-]}, at most 128 characters.
 */
public record SandboxSpec(
    String jobId,
    String image,
    List<String> command,
    Map<String, String> env,
    Path workDir,
    byte[] stdin,
    SandboxPolicy policy) {

  /** Where the job's work directory is inside the sandbox. */
  public static final String WORK_DIR = "/work";

  public SandboxSpec {
    Objects.requireNonNull(jobId, "jobId");
    if (!jobId.matches("[A-Za-z0-9_.-]{1,128}")) {
      throw new IllegalArgumentException("job id may hold only letters, digits, '_', '.', '-' (1-128): " + jobId);
    }
    Objects.requireNonNull(image, "image");
    command = List.copyOf(command);
    if (command.isEmpty()) {
      throw new IllegalArgumentException("command is empty");
    }
    env = Map.copyOf(env);
    Objects.requireNonNull(workDir, "workDir");
    Objects.requireNonNull(policy, "policy");
  }
}
