package heyken.actors;

import heyken.protocol.api.Problem;

/** What a service call gives its caller: a value, or the problem that refused it (a 4xx/5xx for the HTTP API). */
public record Outcome<T>(T value, Problem problem) {

  public static <T> Outcome<T> ok(T value) {
    return new Outcome<>(value, null);
  }

  public static <T> Outcome<T> refused(Problem problem) {
    return new Outcome<>(null, problem);
  }
}
