"""What the customer and the admin see: view models (data), rendered to HTML by jinja2 with autoescaping."""
