namespace Pretext.Serving;

/// <summary>What is wrong with a request, as the client gets it.</summary>
public enum RequestProblem
{
    /// <summary>400: the body is not JSON.</summary>
    InvalidJson,
    /// <summary>400: JSON of the wrong shape (no "inputs" array, a "k" that is not a whole number).</summary>
    BadRequestShape,
    /// <summary>400: an item is not what the model reads (a number where text belongs, a string for a numeric column).</summary>
    WrongType,
    /// <summary>400: bytes that are no image the decoder reads.</summary>
    BadImage,
    /// <summary>400: a table row without a column the model reads, or a window of the wrong length.</summary>
    MissingColumn,
    /// <summary>400: a table row with a column the model does not read.</summary>
    UnknownColumn,
    /// <summary>400: a value outside what the model takes (empty text, a non-finite reading, k out of range).</summary>
    BadValue,
    /// <summary>400: no items.</summary>
    EmptyInputs,
    /// <summary>401: no X-Api-Key header.</summary>
    MissingApiKey,
    /// <summary>401: an X-Api-Key that is not the service's.</summary>
    WrongApiKey,
    /// <summary>404: no such endpoint, or /score and /neighbors without a reference collection.</summary>
    NotFound,
    /// <summary>405: the endpoint exists, with another HTTP method.</summary>
    MethodNotAllowed,
    /// <summary>413: the body is larger than the limit.</summary>
    BodyTooLarge,
    /// <summary>413: more items than the limit.</summary>
    TooManyItems,
    /// <summary>415: a content type the modality does not take.</summary>
    UnsupportedMediaType,
    /// <summary>422: well-formed items the model could not read (the library refused them).</summary>
    Unprocessable,
    /// <summary>503: the queue is full or the service is stopping.</summary>
    Busy,
    /// <summary>500: a fault of the service; the request may be retried.</summary>
    Internal,
}

/// <summary>A request the service refuses; the message names the problem, the item and the fix. Never escapes a handler.</summary>
public sealed class RequestException(RequestProblem problem, string message) : Exception(message)
{
    public RequestProblem Problem { get; } = problem;

    /// <summary>The HTTP status of <paramref name="problem"/>.</summary>
    public static int StatusOf(RequestProblem problem) => problem switch
    {
        RequestProblem.MissingApiKey or RequestProblem.WrongApiKey => 401,
        RequestProblem.NotFound => 404,
        RequestProblem.MethodNotAllowed => 405,
        RequestProblem.BodyTooLarge or RequestProblem.TooManyItems => 413,
        RequestProblem.UnsupportedMediaType => 415,
        RequestProblem.Unprocessable => 422,
        RequestProblem.Busy => 503,
        RequestProblem.Internal => 500,
        _ => 400,
    };

    /// <summary>The stable code clients switch on: the problem in snake case ("invalid_json", "missing_column").</summary>
    public static string CodeOf(RequestProblem problem)
    {
        var name = problem.ToString();
        var sb = new System.Text.StringBuilder(name.Length + 4);
        for (int i = 0; i < name.Length; i++)
        {
            if (char.IsUpper(name[i]) && i > 0) sb.Append('_');
            sb.Append(char.ToLowerInvariant(name[i]));
        }
        return sb.ToString();
    }

    /// <summary>"item 3" (0-based, as the client's array), for messages.</summary>
    public static string Item(int index) => $"inputs[{index}]";
}
