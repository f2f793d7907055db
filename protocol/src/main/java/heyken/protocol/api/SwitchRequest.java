package heyken.protocol.api;

import com.fasterxml.jackson.annotation.JsonProperty;

/** {@code POST :5021/api/cores/switch}: hand the active role over to the named core. */
public record SwitchRequest(@JsonProperty("target_core") Integer targetCore) {}
