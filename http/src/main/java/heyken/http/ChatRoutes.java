package heyken.http;

import heyken.actors.bot.BotActions;
import heyken.actors.bot.Conversation;
import com.fasterxml.jackson.core.type.TypeReference;
import heyken.protocol.api.ChatExchange;
import heyken.protocol.api.ChatHistory;
import java.time.Duration;
import java.util.Map;
import java.util.UUID;
import java.util.regex.Pattern;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.server.PathMatchers;
import org.apache.pekko.http.javadsl.server.Route;

import static org.apache.pekko.http.javadsl.server.Directives.*;

/**
 * The web console's chat on the System Monitor's port: {@code POST /api/chat {"session","text","message_id"?}} talks
 * to heyken_bot in the room {@code web:<session>} (the same conversation entity as Rocket.Chat rooms);
 * {@code GET /api/chat/{session}} is the room's history. Posting needs the API token, so the console's user is the
 * installation's operator and counts as an admin (admin commands still ask for a yes/no).
 */
public final class ChatRoutes {

  private static final Pattern SESSION = Pattern.compile("[A-Za-z0-9_-]{1,64}");
  private static final Pattern MESSAGE_ID = Pattern.compile("[A-Za-z0-9_.:-]{1,100}");
  private static final int MAX_TEXT = 4000;
  static final BotActions.Speaker OPERATOR = new BotActions.Speaker("web:operator", "operator", true);

  private final ActorSystem<?> system;
  private final Duration answerTimeout;

  public ChatRoutes(ActorSystem<?> system, Duration answerTimeout) {
    this.system = system;
    this.answerTimeout = answerTimeout;
  }

  public Route route() {
    return pathPrefix(PathMatchers.segment("api").slash("chat"), () -> concat(
        pathEndOrSingleSlash(() -> post(() -> withRequestTimeout(answerTimeout.plusSeconds(5), () ->
            RequestBodies.atMostDefault(() -> entity(Json.unmarshaller(ChatExchange.Request.class), this::chat))))),
        path(PathMatchers.segment(), session -> get(() -> {
          if (!SESSION.matcher(session).matches()) {
            return invalidSession();
          }
          return onSuccess(room(session).<Conversation.History>ask(Conversation.GetHistory::new, Duration.ofSeconds(5)),
              history -> complete(StatusCodes.OK, view(history), Json.marshaller()));
        }))));
  }

  private Route chat(ChatExchange.Request request) {
    if (request.session() == null || !SESSION.matcher(request.session()).matches()) {
      return invalidSession();
    }
    if (request.text() == null || request.text().isBlank()) {
      return ApiErrors.error(StatusCodes.BAD_REQUEST, "missing_field", "text is required: what to say to heyken_bot");
    }
    if (request.text().length() > MAX_TEXT) {
      return ApiErrors.error(StatusCodes.BAD_REQUEST, "text_too_long", "a message has at most " + MAX_TEXT
          + " characters, this one " + request.text().length());
    }
    if (request.messageId() != null && !MESSAGE_ID.matcher(request.messageId()).matches()) {
      return ApiErrors.error(StatusCodes.BAD_REQUEST, "invalid_message_id", "message_id may hold letters, digits and "
          + "_.:- (at most 100)");
    }
    String messageId = request.messageId() != null ? request.messageId() : UUID.randomUUID().toString();
    String room = "web:" + request.session();
    return onSuccess(room(request.session()).<Conversation.Answer>ask(
            reply -> new Conversation.Handle(messageId, request.text(), OPERATOR, reply), answerTimeout),
        answer -> complete(StatusCodes.OK, new ChatExchange.Response(room, answer.messageId(), answer.text(),
            answer.duplicate()), Json.marshaller()));
  }

  /** The room's history as the API shows it; the entity's records stay its own. */
  static ChatHistory view(Conversation.History history) {
    var turns = history.turns().stream()
        .map(t -> new ChatHistory.Turn(t.userId(), t.username(), t.question(), t.answer(), t.at())).toList();
    var pending = history.pending();
    var partial = history.partial();
    return new ChatHistory(history.room(), turns,
        pending == null ? null : new ChatHistory.Pending(pending.token(), pending.userId(),
            pending.command() == null ? null : Json.MAPPER.convertValue(pending.command(), COMMAND_JSON),
            pending.expiresAt()),
        partial == null ? null : new ChatHistory.Partial(partial.messageId(), partial.question(), partial.text(),
            partial.queuePosition()));
  }

  private static final TypeReference<Map<String, Object>> COMMAND_JSON = new TypeReference<>() {};

  private org.apache.pekko.cluster.sharding.typed.javadsl.EntityRef<Conversation.Command> room(String session) {
    return ClusterSharding.get(system).entityRefFor(Conversation.ENTITY_KEY, "web:" + session);
  }

  private static Route invalidSession() {
    return ApiErrors.error(StatusCodes.BAD_REQUEST, "invalid_session",
        "session names the console's room: 1-64 letters, digits, '_' or '-'");
  }
}
