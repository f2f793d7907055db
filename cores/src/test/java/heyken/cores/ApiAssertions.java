package heyken.cores;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import com.fasterxml.jackson.databind.JsonNode;
import heyken.testkit.HeykenProcesses;

/** What every error of every port must look like. */
final class ApiAssertions {

  private ApiAssertions() {}

  /** The status expected, a JSON body with error and detail, and no stack trace. */
  static JsonNode assertError(HeykenProcesses.Response r, int status, String error) {
    assertEquals(status, r.status(), r.raw());
    assertNotNull(r.body(), "error body is JSON: " + r.raw());
    assertEquals(error, r.body().path("error").asText(), r.raw());
    assertFalse(r.body().path("detail").asText().isBlank(), "detail says what to do: " + r.raw());
    assertFalse(r.raw().contains("\tat ") || r.raw().contains("Exception:"), "no stack trace: " + r.raw());
    return r.body();
  }
}
