"""Widgets the pages share, a module per concern. Not pages: app.py routes with st.navigation."""
