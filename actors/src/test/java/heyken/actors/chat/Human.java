package heyken.actors.chat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.net.http.HttpClient;

/**
 * A person in the chat, acting through the same REST API a browser uses (so it works on the stand-in and on a real
 * server alike): posting, replying in threads, editing, reacting, opening a DM with the bot.
 */
final class Human {

  private final RocketChatRest rest;
  private final RocketChatRest.Session session;
  final String username;

  Human(ChatSettings settings, String username, String password) {
    this.rest = new RocketChatRest(settings, HttpClient.newHttpClient());
    this.session = rest.session(username, password, "the test's password of " + username);
    this.username = username;
  }

  String userId() {
    return session.credentials().userId();
  }

  /** Posts in a room; returns the message id. */
  String say(String roomId, String text) {
    return post(rest.object().put("roomId", roomId).put("text", text));
  }

  String reply(String roomId, String threadId, String text) {
    return post(rest.object().put("roomId", roomId).put("text", text).put("tmid", threadId));
  }

  private String post(ObjectNode body) {
    return rest.post(session, "chat.postMessage", body).path("message").path("_id").asText();
  }

  void edit(String roomId, String messageId, String text) {
    rest.post(session, "chat.update", rest.object().put("roomId", roomId).put("msgId", messageId).put("text", text));
  }

  void react(String messageId, String emoji) {
    rest.post(session, "chat.react", rest.object().put("messageId", messageId).put("emoji", emoji)
        .put("shouldReact", true));
  }

  /** The DM room between this person and {@code username}. */
  String directRoomWith(String username) {
    JsonNode room = rest.post(session, "im.create", rest.object().put("username", username)).path("room");
    return room.path("rid").asText(room.path("_id").asText());
  }
}
