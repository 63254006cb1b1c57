"""The Temporal worker process: wires workflows, activities and the payload codec together."""
