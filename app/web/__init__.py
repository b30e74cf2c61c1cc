"""The web app: pages for village cadres, township reviewers and the district office, served by the same
service (static files, no build step), and the browser session they log in with."""
