package heyken.actors.services;

import java.util.Arrays;
import java.util.Locale;
import java.util.Optional;

/**
 * What may be done to a dynamic service after it was added. Messages and URLs carry its lower-case name
 * ({@link #wire}), as they did before the type existed.
 */
public enum ServiceAction {
  STOP, START, RESTART, REMOVE;

  /** The name in URLs, chat commands and JSON: {@code stop}, {@code start}, {@code restart}, {@code remove}. */
  public String wire() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** The action a URL segment or chat verb names, if any. */
  public static Optional<ServiceAction> of(String wire) {
    return Arrays.stream(values()).filter(a -> a.wire().equals(wire)).findFirst();
  }

}
