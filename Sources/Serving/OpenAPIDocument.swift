/// The OpenAPI 3.1 document of the service (`GET /openapi.json`).
enum OpenAPIDocument {
    /// The document; with `secured`, the `/v1` routes require the bearer token.
    static func json(secured: Bool) -> String {
        let security = secured ? #""security": [{"bearer": []}],"# : ""
        return #"""
            {
              "openapi": "3.1.0",
              "info": {
                "title": "unet serve",
                "version": "1.0.0",
                "description": "Semantic segmentation with U-Nets. POST an image to a model's segment route; the answer is the mask as PNG (in the training masks' values by default), JSON with the class table, or the class probabilities as .npy."
              },
              "paths": {
                "/v1/models": {
                  "get": {
                    "summary": "The served models",
                    "operationId": "listModels",
                    \#(security)
                    "responses": {
                      "200": {"description": "The models", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Models"}}}},
                      "401": {"$ref": "#/components/responses/Error"}
                    }
                  }
                },
                "/v1/models/{name}/segment": {
                  "post": {
                    "summary": "Segment an image",
                    "operationId": "segment",
                    \#(security)
                    "parameters": [
                      {"name": "name", "in": "path", "required": true, "schema": {"type": "string"}, "description": "The model's name (GET /v1/models)"},
                      {"name": "format", "in": "query", "schema": {"type": "string", "enum": ["values", "indices", "palette", "overlay"]},
                       "description": "The mask's pixel values: the training masks' (values, the default), class indices, VOC colours, or the image with the classes tinted"},
                      {"name": "probabilities", "in": "query", "schema": {"type": "boolean"}, "description": "Answer the (C, H, W) float32 class probabilities as .npy"},
                      {"name": "tta", "in": "query", "schema": {"type": "boolean"}, "description": "Test-time augmentation (flips); default: the model's"},
                      {"name": "opacity", "in": "query", "schema": {"type": "number", "minimum": 0, "maximum": 1}, "description": "The overlay's opacity (default 0.45)"},
                      {"name": "contours", "in": "query", "schema": {"type": "boolean"}, "description": "Draw class borders on the overlay"}
                    ],
                    "requestBody": {
                      "required": true,
                      "content": {
                        "image/png": {"schema": {"type": "string", "contentMediaType": "image/png"}},
                        "image/jpeg": {"schema": {"type": "string", "contentMediaType": "image/jpeg"}},
                        "image/tiff": {"schema": {"type": "string", "contentMediaType": "image/tiff"}},
                        "image/bmp": {"schema": {"type": "string", "contentMediaType": "image/bmp"}},
                        "image/gif": {"schema": {"type": "string", "contentMediaType": "image/gif"}},
                        "application/octet-stream": {"schema": {"type": "string", "contentMediaType": "application/octet-stream"}},
                        "multipart/form-data": {"schema": {"type": "object", "properties": {"image": {"type": "string", "contentMediaType": "application/octet-stream"}}}}
                      }
                    },
                    "responses": {
                      "200": {
                        "description": "The segmentation",
                        "content": {
                          "image/png": {"schema": {"type": "string", "contentMediaType": "image/png"}},
                          "application/json": {"schema": {"$ref": "#/components/schemas/Segmentation"}},
                          "application/x-npy": {"schema": {"type": "string", "contentMediaType": "application/x-npy"}}
                        }
                      },
                      "400": {"$ref": "#/components/responses/Error"},
                      "401": {"$ref": "#/components/responses/Error"},
                      "404": {"$ref": "#/components/responses/Error"},
                      "408": {"$ref": "#/components/responses/Error"},
                      "413": {"$ref": "#/components/responses/Error"},
                      "415": {"$ref": "#/components/responses/Error"},
                      "422": {"$ref": "#/components/responses/Error"},
                      "503": {"$ref": "#/components/responses/Error"}
                    }
                  }
                },
                "/healthz": {"get": {"summary": "The process is up", "operationId": "health", "responses": {"200": {"$ref": "#/components/responses/Status"}}}},
                "/readyz": {"get": {"summary": "Every model is loaded and warmed up", "operationId": "ready",
                                    "responses": {"200": {"$ref": "#/components/responses/Status"}, "503": {"$ref": "#/components/responses/Error"}}}},
                "/metrics": {"get": {"summary": "Prometheus metrics", "operationId": "metrics",
                                     "responses": {"200": {"description": "The text exposition format", "content": {"text/plain": {"schema": {"type": "string"}}}}}}},
                "/openapi.json": {"get": {"summary": "This document", "operationId": "openapi",
                                          "responses": {"200": {"description": "OpenAPI 3.1", "content": {"application/json": {"schema": {"type": "object"}}}}}}},
                "/": {"get": {"summary": "A page to try the models", "operationId": "page",
                              "responses": {"200": {"description": "HTML", "content": {"text/html": {"schema": {"type": "string"}}}}}}}
              },
              "components": {
                "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
                "responses": {
                  "Error": {"description": "A refused or failed request", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
                  "Status": {"description": "The status", "content": {"application/json": {"schema": {"type": "object", "required": ["status"], "properties": {"status": {"type": "string"}}}}}}
                },
                "schemas": {
                  "Error": {"type": "object", "required": ["error", "kind"], "properties": {"error": {"type": "string"}, "kind": {"type": "string"}}},
                  "Class": {
                    "type": "object", "required": ["index", "value", "color"],
                    "properties": {
                      "index": {"type": "integer"}, "name": {"type": ["string", "null"]},
                      "value": {"type": "array", "items": {"type": "integer"}}, "color": {"type": "array", "items": {"type": "integer"}},
                      "pixels": {"type": "integer"}, "share": {"type": "number"}
                    }
                  },
                  "Model": {
                    "type": "object", "required": ["name", "architecture", "inputChannels", "classes", "sizeMultiple", "minimumSide"],
                    "properties": {
                      "name": {"type": "string"}, "architecture": {"type": "string"}, "inputChannels": {"type": "integer"},
                      "classes": {"type": "array", "items": {"$ref": "#/components/schemas/Class"}},
                      "sizeMultiple": {"type": "integer"}, "minimumSide": {"type": "integer"},
                      "scale": {"type": ["number", "null"]}, "size": {"type": ["array", "null"], "items": {"type": "integer"}},
                      "tile": {"type": ["integer", "null"]},
                      "mean": {"type": ["array", "null"], "items": {"type": "number"}}, "std": {"type": ["array", "null"], "items": {"type": "number"}},
                      "clipLower": {"type": ["array", "null"], "items": {"type": "number"}},
                      "clipUpper": {"type": ["array", "null"], "items": {"type": "number"}}, "rawIntensities": {"type": "boolean"},
                      "perImageNormalization": {"type": "boolean"}, "cropToNonzero": {"type": "boolean"},
                      "testTimeAugmentation": {"type": "boolean"},
                      "precision": {"type": "string", "enum": ["fp32", "bf16", "int8"]}
                    }
                  },
                  "Models": {"type": "object", "required": ["models"], "properties": {"models": {"type": "array", "items": {"$ref": "#/components/schemas/Model"}}}},
                  "Segmentation": {
                    "type": "object", "required": ["model", "width", "height", "classes", "milliseconds"],
                    "properties": {
                      "model": {"type": "string"}, "width": {"type": "integer"}, "height": {"type": "integer"},
                      "classes": {"type": "array", "items": {"$ref": "#/components/schemas/Class"}},
                      "mask": {"type": ["string", "null"], "description": "The mask PNG as a data URL, when a format was asked for"},
                      "milliseconds": {"type": "number"}
                    }
                  }
                }
              }
            }
            """#
    }
}
