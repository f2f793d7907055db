package heyken.protocol.api.feature;

import java.util.Map;

/**
 * {@code POST /api/features/{id}/revisions}: whole files to commit as the feature's next revision (a null content
 * deletes the file), with an optional commit message.
 */
public record NewRevision(Map<String, String> files, String message) {}
