package heyken.protocol.api;

import com.fasterxml.jackson.annotation.JsonProperty;

/** {@code POST :5002/api/components}: a component announcing where it lives and how to check it. */
public record ComponentRegistration(
    String name, String url, @JsonProperty("health_url") String healthUrl, String version) {}
