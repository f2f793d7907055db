package heyken.actors.architecture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The packages of {@code actors/} and which import which (from the sources: imports and fully qualified names). Two
 * packages that use each other are a circle; the ones that exist are listed here and may only go away: a new one
 * fails this test (see docs/architecture.md).
 */
class PackageCyclesTest {

  /** The circles of 2026-12 (issue 15). Remove a line when its circle is gone; never add one. */
  private static final Set<String> KNOWN = Set.of("bot <-> feature", "bot <-> logs", "core <-> services",
      "feature <-> gitlab");

  private static final Pattern PACKAGE = Pattern.compile("^package\\s+([\\w.]+);", Pattern.MULTILINE);
  private static final Pattern USES = Pattern.compile("\\b(heyken\\.actors(?:\\.[a-z]\\w*)+)\\.[A-Z]");

  static Map<String, Set<String>> uses(Path sources) throws IOException {
    var uses = new HashMap<String, Set<String>>();
    try (var files = Files.walk(sources)) {
      for (Path file : files.filter(f -> f.toString().endsWith(".java")).toList()) {
        String text = Files.readString(file);
        var pkg = PACKAGE.matcher(text);
        if (!pkg.find()) {
          continue;
        }
        String from = top(pkg.group(1));
        var targets = uses.computeIfAbsent(from, p -> new HashSet<>());
        var m = USES.matcher(text);
        while (m.find()) {
          String to = top(m.group(1));
          if (!to.equals(from)) {
            targets.add(to);
          }
        }
      }
    }
    return uses;
  }

  /** heyken.actors.logs.question → logs: a sub-package belongs to its domain. */
  private static String top(String pkg) {
    String rest = pkg.startsWith("heyken.actors.") ? pkg.substring("heyken.actors.".length()) : "";
    int dot = rest.indexOf('.');
    return rest.isEmpty() ? "(root)" : dot < 0 ? rest : rest.substring(0, dot);
  }

  static Set<String> circles(Map<String, Set<String>> uses) {
    var circles = new TreeSet<String>();
    uses.forEach((a, targets) -> targets.forEach(b -> {
      if (uses.getOrDefault(b, Set.of()).contains(a)) {
        circles.add(a.compareTo(b) < 0 ? a + " <-> " + b : b + " <-> " + a);
      }
    }));
    return circles;
  }

  @Test
  void noNewCircleBetweenPackages() throws IOException {
    var found = circles(uses(Path.of("src/main/java/heyken/actors")));
    var added = new TreeSet<>(found);
    added.removeAll(KNOWN);
    assertEquals(Set.of(), added, "new circles between packages of actors/: make the arrow point one way "
        + "(docs/architecture.md); all circles now: " + found);
    var gone = new TreeSet<>(KNOWN);
    gone.removeAll(found);
    assertEquals(Set.of(), gone, "these circles are gone: remove them from KNOWN so that they cannot come back");
  }

  @Test
  void theCheckSeesACircle() {
    var made = Map.<String, Set<String>>of("a", Set.of("b"), "b", Set.of("a", "c"), "c", Set.of());
    assertEquals(Set.of("a <-> b"), circles(made));
    assertTrue(circles(Map.of("a", Set.of("b"), "b", Set.of())).isEmpty());
  }
}
