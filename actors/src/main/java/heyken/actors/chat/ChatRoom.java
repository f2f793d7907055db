package heyken.actors.chat;

import java.util.Objects;

/**
 * A room the bot knows of.
 *
 * @param id the server's room id (opaque; a DM's id is not to be parsed)
 * @param name the room's name; for a DM the other person's username
 * @param type channel, private group, DM…
 */
public record ChatRoom(String id, String name, RoomType type) {
  public ChatRoom {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(type, "type");
  }
}
