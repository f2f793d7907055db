package heyken.protocol.api;

import com.fasterxml.jackson.annotation.JsonProperty;

/** The answer to a switch request: the hand-over has started; poll /api/status for its end. */
public record SwitchAccepted(
    @JsonProperty("from_core") int fromCore, @JsonProperty("to_core") int toCore, long epoch) {}
