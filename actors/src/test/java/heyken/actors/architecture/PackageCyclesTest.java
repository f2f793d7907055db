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
 * packages that use each other are a circle, and there is none (see docs/architecture.md for which way the arrows
 * go).
 */
class PackageCyclesTest {


  private static final Pattern PACKAGE = Pattern.compile("^package\\s+([\\w.]+);", Pattern.MULTILINE);
  private static final Pattern CODE_ONLY = Pattern.compile("//[^\n]*"
      + "|/\\*[\\s\\S]*?\\*/"
      + "|'(?:\\\\.|[^'\\\\])'"
      + "|\"(?:\\\\.|[^\"\\\\])*\"");
  private static final Pattern USES = Pattern.compile("\\b(heyken\\.actors(?:\\.[a-z]\\w*)+)\\.[A-Z]");

  static Map<String, Set<String>> uses(Path sources) throws IOException {
    var uses = new HashMap<String, Set<String>>();
    try (var files = Files.walk(sources)) {
      for (Path file : files.filter(f -> f.toString().endsWith(".java")).toList()) {
        // a name in a comment or a string literal (a logger name, an old class name) is not a dependency
        String text = CODE_ONLY.matcher(Files.readString(file)).replaceAll(" ");
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
  void noCircleBetweenPackages() throws IOException {
    var uses = uses(Path.of("src/main/java/heyken/actors"));
    // the arrows docs/architecture.md names, so that a check reading nothing cannot pass
    assertTrue(uses.get("bot").containsAll(Set.of("chat", "feature", "logs")), "bot uses " + uses.get("bot"));
    assertTrue(uses.get("core").contains("services") && uses.get("gitlab").contains("feature"), uses.toString());
    var found = circles(uses);
    assertEquals(Set.of(), found, "circles between packages of actors/: make the arrow point one way (move the shared "
        + "piece down, or let the lower package own an interface the upper one implements; docs/architecture.md)");
  }

  @Test
  void theCheckSeesACircle() {
    var made = Map.<String, Set<String>>of("a", Set.of("b"), "b", Set.of("a", "c"), "c", Set.of());
    assertEquals(Set.of("a <-> b"), circles(made));
    assertTrue(circles(Map.of("a", Set.of("b"), "b", Set.of())).isEmpty());
  }
}
