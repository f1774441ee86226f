module example.com/app/v3

require (
	github.com/gin-gonic/gin v1.9.1 // web
)
