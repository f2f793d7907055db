package heyken.actors.chat;

import heyken.protocol.CborSerializable;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Extension;
import org.apache.pekko.actor.typed.ExtensionId;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.pubsub.Topic;

/**
 * System news for the chat channels: any actor on any core publishes a line for a channel
 * ({@code heyken-system}, {@code heyken-sandbox}, {@code heyken-logs}); the chat gateway, wherever it runs,
 * subscribes and posts it. Delivery is best effort (a cluster-wide pub-sub topic): what must survive a
 * failover belongs in a journal, and news is the announcement of something already recorded there.
 */
public final class ChatNews implements Extension {

  public static final String SYSTEM = "heyken-system";
  public static final String LOGS = "heyken-logs";
  public static final String SANDBOX = "heyken-sandbox";

  /** One line of news for one channel; {@code key}, when set, lets the gateway drop a repeat of the same news. */
  public record Item(String channel, String text, String key) implements CborSerializable {}

  private final ActorRef<Topic.Command<Item>> topic;

  private ChatNews(ActorSystem<?> system) {
    this.topic = system.systemActorOf(Topic.create(Item.class, "heyken-chat-news"), "heyken-chat-news",
        Props.empty());
    // a topic without subscribers drops each item as a dead letter, logged at INFO: without a chat gateway (no
    // Rocket.Chat) every deploy and failed run did that. Each core listens itself, so nobody-listening is not news.
    subscribe(system.systemActorOf(Behaviors.ignore(), "heyken-chat-news-sink", Props.empty()));
  }

  public static ChatNews get(ActorSystem<?> system) {
    return Id.INSTANCE.apply(system);
  }

  /** Publishes one line of news to every subscriber in the cluster. */
  public void publish(String channel, String text, String key) {
    topic.tell(Topic.publish(new Item(channel, text, key)));
  }

  public void subscribe(ActorRef<Item> subscriber) {
    topic.tell(Topic.subscribe(subscriber));
  }

  public void unsubscribe(ActorRef<Item> subscriber) {
    topic.tell(Topic.unsubscribe(subscriber));
  }

  private static final class Id extends ExtensionId<ChatNews> {
    static final Id INSTANCE = new Id();

    @Override
    public ChatNews createExtension(ActorSystem<?> system) {
      return new ChatNews(system);
    }
  }
}
