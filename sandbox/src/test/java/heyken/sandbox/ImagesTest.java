package heyken.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class ImagesTest {

  private final Images images = new Images("sandbox/python:1", aliases());

  private static Map<String, String> aliases() {
    var map = new LinkedHashMap<String, String>();
    map.put("python", "sandbox/python:1");
    map.put("busybox", "sandbox/busybox:1");
    map.put("python-ml", "sandbox/ml:1");
    return map;
  }

  @Test
  void noNameIsTheDefaultImage() {
    assertEquals("sandbox/python:1", images.resolve(null));
    assertEquals("sandbox/python:1", images.resolve("  "));
  }

  @Test
  void anAliasMatchesTheRepositoryWithAnyTagOrDigest() {
    assertEquals("sandbox/python:1", images.resolve("python"));
    assertEquals("sandbox/python:1", images.resolve("python:3.11-slim"));
    assertEquals("sandbox/python:1", images.resolve("python@sha256:abc"));
    assertEquals("sandbox/python:1", images.resolve("docker.io/library/python:3.12"));
    assertEquals("sandbox/busybox:1", images.resolve("library/busybox:1.36"));
  }

  @Test
  void theLongestMatchingAliasWinsAndAPrefixOfAWordIsNoMatch() {
    assertEquals("sandbox/ml:1", images.resolve("python-ml:2"));
    assertEquals("pythonista:1", images.resolve("pythonista:1"));
  }

  @Test
  void aLocalImageIsKeptEvenWhenAnAliasWouldMatch() {
    assertEquals("python:3.11", images.resolve("python:3.11", Set.of("python:3.11")::contains));
    assertEquals("sandbox/other:3", images.resolve("sandbox/other:3"));
  }

  @Test
  void anUnknownNameStaysAsItIs() {
    assertEquals("registry.example.com/team/tool:1", images.resolve("registry.example.com/team/tool:1"));
  }

  @Test
  void anEmptyDefaultImageIsRefused() {
    assertThrows(IllegalArgumentException.class, () -> new Images(" ", Map.of()));
  }
}
