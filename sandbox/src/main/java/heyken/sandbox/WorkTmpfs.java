package heyken.sandbox;

import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * The job's /work as both backends give it: a tmpfs of the policy's disk bound, so that a job cannot fill the host's
 * disk (an audit wrote 1 GiB into the old read-write bind at about 2 GB/s). The work directory is bound read-only at
 * {@link #CHECKOUT} and copied into /work by a small {@code sh} wrapper before the job's argv runs; what the job writes
 * stays in the sandbox and is gone with it (nothing in Heyken reads a job's /work afterwards: every job starts from a
 * fresh checkout, which is deleted after the job).
 *
 * <p>The wrapper stays the job's parent. When the job failed (exit code not 0) and /work has no free block left, it
 * writes {@link #marker()} as the last line of standard error; {@link CappedOutput} watches for it and the backend
 * reports the reason {@code disk}. The marker carries a random nonce per job, so output that merely looks like it is
 * not taken for it; a job can at most label its own failure wrongly. Needs {@code sh}, {@code cp} and {@code df} in
 * the image (busybox has them); without {@code df} a full /work is still bounded, only reported as a plain exit.
 */
final class WorkTmpfs {

  /** Where the work directory is bound read-only, the source of the copy. */
  static final String CHECKOUT = "/heyken-checkout";

  /** Fewer free KiB than this on /work after a failed job means the job hit the bound (a tmpfs page is 4 KiB). */
  private static final int FULL_BELOW_KIB = 4;

  // $1 marker, $2 stdin file or "-", then the job's argv
  private static final String WRAPPER = String.join("\n",
      "m=$1; in=$2; shift 2",
      "full() { a=$(df -Pk " + SandboxSpec.WORK_DIR + " 2>/dev/null | { read -r _; read -r _ _ _ a _; echo \"$a\"; });"
          + " [ -n \"$a\" ] && [ \"$a\" -lt " + FULL_BELOW_KIB + " ] 2>/dev/null; }",
      "if ! e=$(cp -R " + CHECKOUT + "/. " + SandboxSpec.WORK_DIR + "/ 2>&1); then",
      "  if full; then",
      "    echo \"heyken-sandbox: the work directory does not fit into " + SandboxSpec.WORK_DIR
          + " (its disk bound)\" >&2; echo \"$m\" >&2; exit 1",
      "  fi",
      "  echo \"heyken-sandbox: cannot copy the work directory into " + SandboxSpec.WORK_DIR + ": $e\" >&2; exit 125",
      "fi",
      "if [ \"$in\" = - ]; then \"$@\"; else \"$@\" < \"$in\"; fi",
      "rc=$?",
      "if [ $rc -ne 0 ] && full; then echo \"$m\" >&2; fi",
      "exit $rc");

  private final String marker;

  private WorkTmpfs(String marker) {
    this.marker = marker;
  }

  /** A fresh wrapper for one job, with its own marker. */
  static WorkTmpfs forJob() {
    return new WorkTmpfs("heyken-sandbox: " + SandboxSpec.WORK_DIR + " is full (disk "
        + UUID.randomUUID().toString().substring(0, 8) + ")");
  }

  /** The line on standard error that says the failed job had filled /work. */
  String marker() {
    return marker;
  }

  /**
   * The argv that seeds /work and then runs {@code command}, reading standard input from {@code stdinFile} (a path
   * inside the sandbox) or, when null, from the wrapper's own standard input.
   */
  List<String> wrap(List<String> command, String stdinFile) {
    var argv = new ArrayList<String>(List.of("/bin/sh", "-c", WRAPPER, "heyken-work", marker,
        stdinFile == null ? "-" : stdinFile));
    argv.addAll(command);
    return argv;
  }

  /** The tmpfs options of /work for a mount made as root (Docker): owned by the sandbox user, programs may run. */
  static String mountOptions(SandboxPolicy policy) {
    return "rw,exec,nosuid,nodev,size=" + policy.diskBytes() + ",uid=" + JobWorkDir.SANDBOX_UID + ",gid="
        + JobWorkDir.SANDBOX_UID + ",mode=0755";
  }

  /** The detail of a result whose reason is {@code disk}. */
  static String detail(SandboxPolicy policy) {
    return "wrote more than its disk bound of " + (policy.diskBytes() >> 20) + " MiB into " + SandboxSpec.WORK_DIR
        + " (No space left on device)";
  }
}
