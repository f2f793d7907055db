package heyken.sandbox;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Predicate;

/**
 * Which local image a job runs in. No registry is reachable, so a name a {@code .gitlab-ci.yml} writes for GitLab
 * ({@code python:3.11-slim}, {@code alpine:3.19}) is mapped onto an image built here ({@code heyken.sandbox
 * .image-aliases}). In order:
 * <ol>
 *   <li>no name: the default image;
 *   <li>the name itself when it exists locally (only the Docker backend can tell) or is already a {@code sandbox/...}
 *       image;
 *   <li>the alias whose key is the name's repository: {@code python} matches {@code python}, {@code python:3.11-slim},
 *       {@code python@sha256:...}, {@code docker.io/library/python:3}, but not {@code pythonista} (the longest key
 *       wins);
 *   <li>else the name unchanged: the job then fails with "image ... is not built here".
 * </ol>
 */
public final class Images {

  static final String LOCAL_PREFIX = "sandbox/";

  private final String defaultImage;
  private final Map<String, String> aliases;

  public Images(String defaultImage, Map<String, String> aliases) {
    if (defaultImage == null || defaultImage.isBlank()) {
      throw new IllegalArgumentException("the default sandbox image is empty (heyken.sandbox.default-image)");
    }
    this.defaultImage = defaultImage.trim();
    this.aliases = Collections.unmodifiableMap(new LinkedHashMap<>(aliases));
  }

  public String defaultImage() {
    return defaultImage;
  }

  public Map<String, String> aliases() {
    return aliases;
  }

  /** The image to use when nothing but the configuration is known (no image exists locally). */
  public String resolve(String requested) {
    return resolve(requested, name -> false);
  }

  /** The image to use; {@code existsLocally} tells whether an image of that exact name is built here. */
  public String resolve(String requested, Predicate<String> existsLocally) {
    if (requested == null || requested.isBlank()) {
      return defaultImage;
    }
    String name = requested.trim();
    if (name.startsWith(LOCAL_PREFIX) || existsLocally.test(name)) {
      return name;
    }
    String repository = withoutDockerHubPrefix(name);
    String best = null;
    for (var key : aliases.keySet()) {
      if (matches(repository, key) && (best == null || key.length() > best.length())) {
        best = key;
      }
    }
    return best == null ? name : aliases.get(best);
  }

  private static boolean matches(String name, String key) {
    if (!name.startsWith(key)) {
      return false;
    }
    if (name.length() == key.length()) {
      return true;
    }
    char next = name.charAt(key.length());
    return next == ':' || next == '@';
  }

  /** Docker Hub's long forms name the same image as the short one: {@code docker.io/library/python} = python. */
  private static String withoutDockerHubPrefix(String name) {
    for (var prefix : new String[] {"index.docker.io/", "registry-1.docker.io/", "docker.io/"}) {
      if (name.startsWith(prefix)) {
        name = name.substring(prefix.length());
        break;
      }
    }
    return name.startsWith("library/") ? name.substring("library/".length()) : name;
  }
}
