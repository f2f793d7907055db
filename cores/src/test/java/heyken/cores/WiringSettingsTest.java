package heyken.cores;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import heyken.actors.NodeSettings;
import heyken.actors.bot.BotSettings;
import heyken.actors.bot.ChatGateway;
import heyken.actors.monitor.ProbeSettings;
import heyken.actors.registry.RegistrySettings;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The settings the Guardian reads once and passes in parse from the shipped application.conf, with its defaults. */
class WiringSettingsTest {

  private static final Config SHIPPED = ConfigFactory.load();

  @Test
  void theGuardiansSettingsReadTheShippedKeys() {
    var core = CoreSettings.from(SHIPPED);
    assertEquals(Duration.ofSeconds(5), core.askTimeout());
    assertEquals("heyken_run_logs", core.runLogCollection());

    var registry = RegistrySettings.from(SHIPPED);
    assertEquals(new RegistrySettings(Duration.ofSeconds(5), Duration.ofSeconds(2)), registry);

    var probes = ProbeSettings.from(SHIPPED);
    assertEquals(Duration.ofMillis(1500), probes.timeout());
    assertEquals(Duration.ofSeconds(2), probes.cacheFor());
  }

  @Test
  void streamingAndTheNodeComeFromTheirOwnBlocks() {
    // 1s and 1s in application.conf, the same as the fallback when the keys are missing
    assertEquals(ChatGateway.Streaming.DEFAULT, BotSettings.from(SHIPPED).streaming());
    var node = NodeSettings.from(ConfigFactory.parseString("heyken { core.id = 2, data-dir = \"some/dir\" }"));
    assertEquals(2, node.coreId());
    assertTrue(node.dataDir().isAbsolute());
    assertTrue(node.dataDir().endsWith("some/dir"));
  }
}
