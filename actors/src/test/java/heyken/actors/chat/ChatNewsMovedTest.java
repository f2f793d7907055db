package heyken.actors.chat;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.typesafe.config.ConfigFactory;
import java.io.File;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.serialization.SerializationExtension;
import org.apache.pekko.serialization.SerializerWithStringManifest;
import org.junit.jupiter.api.Test;

/** News from a core of the version before the move (class heyken.actors.bot.ChatNews$Item) is still read. */
class ChatNewsMovedTest {

  @Test
  void newsUnderTheOldClassNameIsReadAsTheNewOne() throws Exception {
    var config = ConfigFactory.parseString("pekko.actor.provider = local")
        .withFallback(ConfigFactory.parseFile(new File("../application.conf")))
        .withFallback(ConfigFactory.defaultReference()).resolve();
    var testKit = ActorTestKit.create("news-moved", config);
    try {
      var item = new ChatNews.Item(ChatNews.SYSTEM, "Feature #1 'x' deployed", "deployed:1");
      var serializer = (SerializerWithStringManifest) SerializationExtension.get(testKit.system().classicSystem())
          .findSerializerFor(item);
      byte[] bytes = serializer.toBinary(item);
      assertEquals(ChatNews.Item.class.getName(), serializer.manifest(item), "new cores send the new name");
      assertEquals(item, serializer.fromBinary(bytes, ChatNewsMoved.OLD_NAME));
      assertEquals(item, serializer.fromBinary(bytes, serializer.manifest(item)));
    } finally {
      testKit.shutdownTestKit();
    }
  }
}
