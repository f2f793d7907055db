package heyken.actors.llm;

import com.fasterxml.jackson.databind.ObjectMapper;

/** The JSON mapper of the Ollama wire format, shared by the package (thread-safe once configured). */
final class Wire {

  static final ObjectMapper JSON = new ObjectMapper();

  private Wire() {
  }
}
