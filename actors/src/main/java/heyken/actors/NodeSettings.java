package heyken.actors;

import com.typesafe.config.Config;
import java.nio.file.Path;

/** Which core this JVM is (heyken.core.id, HEYKEN_CORE_ID) and the installation's data directory, made absolute. */
public record NodeSettings(int coreId, Path dataDir) {

  public static NodeSettings from(Config config) {
    return new NodeSettings(config.getInt("heyken.core.id"),
        Path.of(config.getString("heyken.data-dir")).toAbsolutePath().normalize());
  }
}
