package heyken.actors.feature;

import com.typesafe.config.Config;
import java.time.Duration;
import java.util.List;

/**
 * How the author loop writes features with the language model, read from {@code heyken.author.*} (every key has a
 * default here, so a configuration without the block works).
 *
 * @param enabled          a feature created with only a name and a description is written by the model
 *                         ({@code HEYKEN_AUTHOR_ENABLED}); off, it stays a draft
 * @param maxAttempts      answers of the model per feature, each a commit and a test run ({@code HEYKEN_AUTHOR_MAX_ATTEMPTS})
 * @param autodeploy       deploy a passing revision without an admin's approval ({@code HEYKEN_AUTODEPLOY})
 * @param allowedDirs      where the model may write: {@code ""} is the repository root (files only), any other entry a
 *                         directory and everything under it
 * @param maxFiles         files per answer
 * @param maxFileBytes     bytes per file
 * @param maxRevisionBytes bytes of all files of one answer
 * @param feedbackLines    lines of failing test output given back to the model (the tail)
 * @param feedbackBytes    bytes of failing test output given back to the model (the tail)
 * @param numCtx           {@code options.num_ctx} of every authoring call
 * @param numPredict       {@code options.num_predict}: the longest answer; a longer one ends with done_reason length
 * @param seed             {@code options.seed} (with temperature 0: the same prompt gives the same answer)
 * @param pollInterval     how often the loop looks at a running test run
 */
public record AuthorSettings(boolean enabled, int maxAttempts, boolean autodeploy, List<String> allowedDirs,
    int maxFiles, long maxFileBytes, long maxRevisionBytes, int feedbackLines, int feedbackBytes, int numCtx,
    int numPredict, int seed, Duration pollInterval) {

  public AuthorSettings {
    if (maxAttempts < 1 || maxAttempts > 20) {
      throw new IllegalArgumentException("heyken.author.max-attempts must be 1..20, got " + maxAttempts);
    }
    if (maxFiles < 1 || maxFileBytes < 1 || maxRevisionBytes < maxFileBytes) {
      throw new IllegalArgumentException("heyken.author: max-files and max-file-bytes must be positive and "
          + "max-revision-bytes at least max-file-bytes");
    }
    if (feedbackLines < 1 || feedbackBytes < 256) {
      throw new IllegalArgumentException("heyken.author: feedback-lines must be positive, feedback-bytes >= 256");
    }
    if (numCtx < 1024 || numPredict < 256 || numPredict >= numCtx) {
      throw new IllegalArgumentException("heyken.author: num-ctx must be >= 1024 and num-predict 256..num-ctx, got "
          + numCtx + " / " + numPredict);
    }
    if (pollInterval == null || pollInterval.isNegative() || pollInterval.isZero()) {
      throw new IllegalArgumentException("heyken.author.poll-interval must be positive");
    }
    allowedDirs = allowedDirs.stream().map(d -> d.strip().replaceAll("^/+|/+$", "")).toList();
    for (String dir : allowedDirs) {
      if (dir.contains("..") || dir.startsWith(".")) {
        throw new IllegalArgumentException("heyken.author.allowed-dirs: '" + dir + "' is not a plain directory");
      }
    }
  }

  public static AuthorSettings from(Config config) {
    Config c = config.hasPath("heyken.author") ? config.getConfig("heyken.author") : com.typesafe.config.ConfigFactory.empty();
    return new AuthorSettings(
        c.hasPath("enabled") ? c.getBoolean("enabled") : true,
        c.hasPath("max-attempts") ? c.getInt("max-attempts") : 3,
        c.hasPath("autodeploy") ? c.getBoolean("autodeploy") : false,
        c.hasPath("allowed-dirs") ? c.getStringList("allowed-dirs") : List.of("", "src", "tests", "lib"),
        c.hasPath("max-files") ? c.getInt("max-files") : 20,
        c.hasPath("max-file-bytes") ? c.getBytes("max-file-bytes") : 64 * 1024,
        c.hasPath("max-revision-bytes") ? c.getBytes("max-revision-bytes") : 256 * 1024,
        c.hasPath("feedback-lines") ? c.getInt("feedback-lines") : 150,
        c.hasPath("feedback-bytes") ? c.getBytes("feedback-bytes").intValue() : 6 * 1024,
        c.hasPath("num-ctx") ? c.getInt("num-ctx") : 8192,
        c.hasPath("num-predict") ? c.getInt("num-predict") : 4096,
        c.hasPath("seed") ? c.getInt("seed") : 42,
        c.hasPath("poll-interval") ? c.getDuration("poll-interval") : Duration.ofSeconds(1));
  }
}
