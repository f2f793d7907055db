package heyken.sandbox.workspace;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;

class YamlReaderTest {

  @Test
  void mergeKeysResolveWithExplicitKeysWinning() {
    var reader = new YamlReader();
    Node root = reader.compose("""
        .base: &base
          a: from-base
          b: from-base
        .more: &more
          b: from-more
          c: from-more
        job:
          <<: [*base, *more]
          a: explicit
        """).orElseThrow();
    MappingNode job = (MappingNode) reader.entries((MappingNode) root).get(2).value();
    var values = reader.entries(job).stream()
        .map(e -> e.key() + "=" + reader.text(e.value(), e.key()).orElseThrow()).toList();
    assertEquals(List.of("b=from-base", "c=from-more", "a=explicit"), values);
    assertEquals(List.of(), reader.errors());
  }

  @Test
  void aDuplicateKeyIsWarnedAndTheLaterOneWins() {
    var reader = new YamlReader();
    Node root = reader.compose("a: 1\nb: 2\na: 3\n").orElseThrow();
    var entries = reader.entries((MappingNode) root);
    assertEquals(List.of("a", "b"), entries.stream().map(YamlReader.Entry::key).toList());
    assertEquals("3", reader.text(entries.get(0).value(), "a").orElseThrow());
    assertEquals(List.of("line 3: key 'a' is also given on line 1; the later one wins"), reader.warnings());
  }

  @Test
  void aBillionLaughsIsRefused() {
    var reader = new YamlReader();
    var yaml = new StringBuilder("a: &a [x, x, x, x, x, x, x, x, x]\n");
    for (char c = 'b'; c <= 'k'; c++) {
      char p = (char) (c - 1);
      yaml.append(c).append(": &").append(c).append(" [*").append(p).append(", *").append(p).append(", *").append(p)
          .append(", *").append(p).append(", *").append(p).append(", *").append(p).append("]\n");
    }
    assertTrue(reader.compose(yaml.toString()).isEmpty());
    assertTrue(reader.errors().get(0).message().startsWith("invalid YAML"), reader.errors().toString());
  }
}
