package heyken.protocol.api.service;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;
import java.util.Map;

/**
 * {@code POST :5010/api/services}: a long-running container the active core keeps running.
 *
 * @param name DNS-label-like: lower-case letters, digits and '-', starting with a letter, at most 40 characters
 * @param image a local image (no registry is reachable: {@code docker load -i image.tar} or {@code docker import})
 * @param env environment variables, name → value
 * @param ports {@code "HOST:CONTAINER"}, {@code "IP:HOST:CONTAINER"}, optionally with {@code /tcp} or {@code /udp};
 *     the host side binds 127.0.0.1 unless an IP is given
 * @param command the argv run instead of the image's default command
 * @param healthcheck the Docker healthcheck; the service's health comes from it
 * @param restart {@code always} (default), {@code on-failure} or {@code no}: what the reconciler does when it exits
 * @param limits memory, cpus and pids of the container, up to the configured maxima (defaults when absent)
 * @param user the user the container runs as (uid 65534 when absent; "0" runs it as root, still without capabilities)
 */
public record ServiceRequest(
    String name,
    String image,
    Map<String, String> env,
    List<String> ports,
    List<String> command,
    Healthcheck healthcheck,
    String restart,
    Limits limits,
    String user) {

  public ServiceRequest(String name, String image, Map<String, String> env, List<String> ports, List<String> command,
      Healthcheck healthcheck, String restart) {
    this(name, image, env, ports, command, healthcheck, restart, null, null);
  }

  /** {@code "limits": {"memory": "256m", "cpus": 0.5, "pids": 128}}; each may be left out. */
  public record Limits(String memory, Double cpus, Integer pids) {}

  /** Env values redacted (see {@link ServiceView#REDACTED}): a request may be logged or put into a message. */
  @Override
  public String toString() {
    return "ServiceRequest[name=" + name + ", image=" + image + ", env=" + ServiceView.redacted(env) + ", ports="
        + ports + ", command=" + command + ", healthcheck=" + healthcheck + ", restart=" + restart + ", limits=" + limits
        + ", user=" + user + "]";
  }

  /**
   * @param test Docker's form: {@code ["CMD", "wget", "-q", "-O-", "http://127.0.0.1:8080/"]} or
   *     {@code ["CMD-SHELL", "..."]}; a list without that first word runs as {@code CMD}
   * @param interval, timeout, startPeriod durations such as {@code "5s"} or {@code "500ms"}
   */
  public record Healthcheck(
      List<String> test,
      String interval,
      String timeout,
      Integer retries,
      @JsonProperty("start_period") String startPeriod) {}
}
