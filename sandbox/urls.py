app_name = "sandbox"

# The SIBS Gateway v2 simulator mounts its endpoints here (/sandbox/api/v2/...).
urlpatterns: list = []
