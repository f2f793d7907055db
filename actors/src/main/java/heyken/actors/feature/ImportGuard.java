package heyken.actors.feature;

import com.typesafe.config.Config;
import heyken.sandbox.workspace.GitImportException;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Where a feature's {@code git_url} may point ({@code heyken.import}): a {@code file://} repository by its
 * real path (symbolic links and {@code /proc/self/...} resolved), never inside Heyken's data directory or
 * {@code /proc}, and only under {@code roots} when they are given; an {@code http(s)://} one only on {@code hosts} when
 * they are given. The URL handed to git is the checked real path, so nothing can be swapped in between.
 */
public record ImportGuard(List<Path> roots, List<String> hosts, List<Path> forbidden) {

  private static final Path PROC = Path.of("/proc");

  /** {@code heyken.import.roots} / {@code .hosts} (HEYKEN_IMPORT_ROOTS, HEYKEN_IMPORT_HOSTS: comma-separated). */
  public static ImportGuard from(Config config, List<Path> forbidden) {
    var roots = new ArrayList<Path>();
    for (String root : split(setting(config, "heyken.import.roots"))) {
      Path p = Path.of(root);
      if (!p.isAbsolute()) {
        throw new IllegalArgumentException("heyken.import.roots (HEYKEN_IMPORT_ROOTS) holds absolute paths, "
            + "not '" + root + "'");
      }
      roots.add(p.normalize());
    }
    var hosts = split(setting(config, "heyken.import.hosts")).stream()
        .map(h -> h.toLowerCase(Locale.ROOT)).toList();
    return new ImportGuard(List.copyOf(roots), hosts, List.copyOf(forbidden));
  }

  private static String setting(Config config, String key) {
    return config.hasPath(key) ? config.getString(key) : "";
  }

  private static List<String> split(String list) {
    return java.util.Arrays.stream(list.split(",")).map(String::trim).filter(s -> !s.isEmpty()).toList();
  }

  /**
   * The URL to import from: a {@code file://} URL rewritten to its real path; others as given (the repositories
   * check the scheme). Blocking (it reads the file system): call it on the blocking dispatcher.
   *
   * @throws GitImportException when the URL points where imports may not
   */
  public String check(String gitUrl) {
    if (gitUrl == null) {
      return null;
    }
    String url = gitUrl.strip();
    String lower = url.toLowerCase(Locale.ROOT);
    if (lower.startsWith("file:")) {
      return "file://" + realPath(url);
    }
    if ((lower.startsWith("http://") || lower.startsWith("https://")) && !hosts.isEmpty()) {
      String host;
      try {
        host = URI.create(url).getHost();
      } catch (IllegalArgumentException e) {
        host = null;
      }
      if (host == null || !hosts.contains(host.toLowerCase(Locale.ROOT))) {
        throw new GitImportException("git_url may name only the hosts of HEYKEN_IMPORT_HOSTS (" + String.join(", ",
            hosts) + "); ask the operator to add the repository's host there");
      }
    }
    return url;
  }

  private Path realPath(String url) {
    Path given;
    try {
      given = Path.of(URI.create(url)).toAbsolutePath().normalize();
    } catch (IllegalArgumentException | java.nio.file.FileSystemNotFoundException e) {
      throw new GitImportException("git_url is not a valid file:// URL: " + e.getMessage());
    }
    if (given.startsWith(PROC)) {
      throw new GitImportException("git_url may not point into /proc: import from the repository's own path");
    }
    Path real;
    try {
      real = given.toRealPath();
    } catch (IOException e) {
      throw new GitImportException("no git repository at " + given + ": check the URL (an absolute path to a "
          + "repository the core can read)");
    }
    if (real.startsWith(PROC)) {
      throw new GitImportException("git_url may not point into /proc: import from the repository's own path");
    }
    for (Path dir : forbidden) {
      if (real.startsWith(realOrSelf(dir))) {
        throw new GitImportException("git_url points into Heyken's data directory; import from a repository outside "
            + "it (another feature's code is copied with its files, not its repository)");
      }
    }
    if (!roots.isEmpty() && roots.stream().noneMatch(root -> real.startsWith(realOrSelf(root)))) {
      throw new GitImportException("git_url may name only repositories under HEYKEN_IMPORT_ROOTS (" + String.join(", ",
          roots.stream().map(Path::toString).toList()) + "); move the repository there or ask the operator");
    }
    return real;
  }

  private static Path realOrSelf(Path dir) {
    try {
      return dir.toRealPath();
    } catch (IOException e) {
      return dir.toAbsolutePath().normalize();
    }
  }
}
