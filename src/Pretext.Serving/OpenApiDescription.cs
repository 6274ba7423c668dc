using System.Text.Json.Nodes;

namespace Pretext.Serving;

/// <summary>
/// The OpenAPI 3.0 description of one running service, written here rather than generated from the endpoints: what an item is depends
/// on the checkpoint (a base64 image of its size, a table row with its very columns), which only the served model knows.
/// </summary>
public static class OpenApiDescription
{
    public static JsonObject Build(ServedModel model, ServeOptions options)
    {
        var items = new JsonObject
        {
            ["type"] = "array",
            ["minItems"] = 1,
            ["maxItems"] = options.MaxItems,
            ["items"] = model.Reader.ItemSchema(),
        };
        JsonObject Body(bool withK)
        {
            var properties = new JsonObject { ["inputs"] = items.DeepClone() };
            if (withK) properties["k"] = new JsonObject { ["type"] = "integer", ["minimum"] = 1, ["maximum"] = options.MaxNeighbours, ["default"] = 10 };
            var content = new JsonObject
            {
                ["application/json"] = new JsonObject
                {
                    ["schema"] = new JsonObject { ["type"] = "object", ["required"] = new JsonArray("inputs"), ["properties"] = properties, ["additionalProperties"] = false },
                },
            };
            foreach (var raw in model.Reader.RawMediaTypes)
                content[raw] = new JsonObject { ["schema"] = new JsonObject { ["type"] = "string", ["format"] = "binary", ["description"] = "One item as the whole body." } };
            return new JsonObject { ["required"] = true, ["content"] = content };
        }
        JsonObject Ok(string description, JsonObject schema) => new()
        {
            ["description"] = description,
            ["content"] = new JsonObject { ["application/json"] = new JsonObject { ["schema"] = schema } },
        };
        var error = new JsonObject { ["$ref"] = "#/components/schemas/Error" };
        JsonObject Errors(JsonObject responses)
        {
            foreach (var (status, what) in new[]
            {
                ("400", "Malformed JSON or an item the model does not read (wrong type, bad image, missing or unknown column...)."),
                ("401", "Missing or wrong X-Api-Key."),
                ("404", "No reference collection (/score, /neighbors)."),
                ("413", "Body or item count above the limits."),
                ("415", "A content type the model does not take."),
                ("503", "The queue is full; retry."),
            })
                responses[status] = new JsonObject { ["description"] = what, ["content"] = new JsonObject { ["application/json"] = new JsonObject { ["schema"] = error.DeepClone() } } };
            return responses;
        }
        var vectors = new JsonObject
        {
            ["type"] = "object",
            ["properties"] = new JsonObject
            {
                ["dim"] = new JsonObject { ["type"] = "integer", ["example"] = model.Dim },
                ["embeddings"] = new JsonObject { ["type"] = "array", ["items"] = new JsonObject { ["type"] = "array", ["items"] = new JsonObject { ["type"] = "number" } } },
            },
        };
        var scores = new JsonObject
        {
            ["type"] = "object",
            ["properties"] = new JsonObject
            {
                ["k"] = new JsonObject { ["type"] = "integer" },
                ["scores"] = new JsonObject { ["type"] = "array", ["items"] = new JsonObject { ["type"] = "number" }, ["description"] = "Per item, the mean distance sqrt(2 - 2 cos) to its k nearest reference items; higher is more anomalous." },
            },
        };
        var neighbour = new JsonObject
        {
            ["type"] = "object",
            ["properties"] = new JsonObject
            {
                ["id"] = new JsonObject { ["type"] = "string" },
                ["index"] = new JsonObject { ["type"] = "integer" },
                ["distance"] = new JsonObject { ["type"] = "number" },
                ["label"] = new JsonObject { ["type"] = "string", ["description"] = "When the reference is labelled." },
            },
        };
        var neighbours = new JsonObject
        {
            ["type"] = "object",
            ["properties"] = new JsonObject
            {
                ["k"] = new JsonObject { ["type"] = "integer" },
                ["neighbors"] = new JsonObject { ["type"] = "array", ["items"] = new JsonObject { ["type"] = "array", ["items"] = neighbour } },
            },
        };
        JsonObject Post(string summary, JsonObject body, JsonObject ok) => new()
        {
            ["post"] = new JsonObject { ["summary"] = summary, ["requestBody"] = body, ["responses"] = Errors(new JsonObject { ["200"] = ok }) },
        };
        JsonObject Get(string summary, string description, bool open = false)
        {
            var get = new JsonObject { ["summary"] = summary, ["responses"] = new JsonObject { ["200"] = Ok(description, new JsonObject { ["type"] = "object" }) } };
            if (open) get["security"] = new JsonArray();
            return new JsonObject { ["get"] = get };
        }
        var document = new JsonObject
        {
            ["openapi"] = "3.0.3",
            ["info"] = new JsonObject
            {
                ["title"] = "pretext serve",
                ["version"] = typeof(OpenApiDescription).Assembly.GetName().Version?.ToString() ?? "1.0",
                ["description"] = $"Embeddings of a {model.MethodName} {model.Config.Encoder.Modality.ToString().ToLowerInvariant()} encoder ({model.Dim}-d). Errors: {{\"error\": code, \"message\": text}}.",
            },
            ["paths"] = new JsonObject
            {
                ["/embed"] = Post("Embeddings of the items.", Body(false), Ok("One embedding per item, in order.", vectors)),
                ["/score"] = Post("Anomaly score of each item against the reference collection.", Body(false), Ok("One score per item.", scores)),
                ["/neighbors"] = Post("Nearest reference items of each item.", Body(true), Ok("Per item, k neighbours nearest first.", neighbours)),
                ["/health"] = Get("Liveness; needs no key.", "{\"status\": \"ok\"}", open: true),
                ["/info"] = Get("Method, modality, input shape, embedding size, checkpoint, reference and limits.", "The served model."),
                ["/openapi.json"] = Get("This description; needs no key.", "OpenAPI 3.0.", open: true),
            },
            ["components"] = new JsonObject
            {
                ["schemas"] = new JsonObject
                {
                    ["Error"] = new JsonObject
                    {
                        ["type"] = "object",
                        ["required"] = new JsonArray("error", "message"),
                        ["properties"] = new JsonObject
                        {
                            ["error"] = new JsonObject { ["type"] = "string", ["example"] = "invalid_json" },
                            ["message"] = new JsonObject { ["type"] = "string" },
                        },
                    },
                },
            },
        };
        if (options.ApiKey is not null)
        {
            document["components"]!["securitySchemes"] = new JsonObject
            {
                ["apiKey"] = new JsonObject { ["type"] = "apiKey", ["in"] = "header", ["name"] = ServeOptions.ApiKeyHeader },
            };
            document["security"] = new JsonArray(new JsonObject { ["apiKey"] = new JsonArray() });
        }
        return document;
    }
}
